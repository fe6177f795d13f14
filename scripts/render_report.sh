#!/usr/bin/env bash
# Renders a study's report.html in a real browser (headless Chromium, Debian's `chromium`
# package: `apt-get install chromium`) and saves a full-page screenshot, to look at before
# a release. Not part of the test run.
#
#   scripts/render_report.sh STUDY_OUT/report.html [OUT.png] [WIDTH] [HEIGHT]
set -euo pipefail
report=${1:?usage: scripts/render_report.sh REPORT.html [OUT.png] [WIDTH] [HEIGHT]}
out=${2:-${report%.html}.png}
width=${3:-1280}
height=${4:-6000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "render_report.sh: no Chromium (apt-get install chromium)" >&2
  exit 2
fi
# --no-sandbox for root in containers; no network is needed (the report is self-contained).
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="$width,$height" --screenshot="$(realpath -m "$out")" \
  "file://$(realpath "$report")" 2>/dev/null
echo "$out"
