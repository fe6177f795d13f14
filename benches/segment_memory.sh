#!/usr/bin/env bash
# Peak memory of `leukotrack segment` (a child process, measured by /usr/bin/time -v) on
# 25 and 100 timepoints of a simulated 512×512×32 recording, to show that memory is bounded
# by a few timepoints and flat in the number of timepoints.
#
#   benches/segment_memory.sh            (needs ~2 GB free in /tmp)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$root" && cargo build --release --quiet --bin leukotrack)
lt="$root/target/release/leukotrack"
work="$(mktemp -d /tmp/leukotrack-mem.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "| timepoints | recording MB | peak RSS MB | wall s | detections |"
echo "|---|---|---|---|---|"
for t in 25 100; do
  "$lt" synth -o "$work/rec$t" --frames "$t" --size 512,512,32 --seed 5 --quiet
  mb=$(( $(stat -c %s "$work/rec$t/recording.tif") / 1000000 ))
  /usr/bin/time -v "$lt" segment "$work/rec$t/recording.tif" -o "$work/out$t" --quiet \
    2> "$work/time$t.txt"
  rss=$(awk '/Maximum resident set size/ {print int($6 / 1024)}' "$work/time$t.txt")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $8}' "$work/time$t.txt")
  n=$(( $(wc -l < "$work/out$t/detections.csv") - 1 ))
  echo "| $t | $mb | $rss | $wall | $n |"
  rm -rf "$work/rec$t"
done
