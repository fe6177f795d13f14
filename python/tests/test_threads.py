"""Long calls release the GIL, report progress, and stop on Ctrl-C or when asked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import leukotrack as lt

from conftest import FIXTURE


def test_two_calls_overlap_in_time(small):
    """Each call records when it entered the core (its first progress report) and when it
    left (its last); with the GIL released the two spans overlap."""
    spans: dict[str, list[float]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def run(name: str) -> None:
        start.wait()
        lt.segment(small[0], progress=lambda stage, done, total: spans[name].append(time.perf_counter()))

    threads = [threading.Thread(target=run, args=(n,)) for n in spans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (a0, a1), (b0, b1) = ((min(v), max(v)) for v in spans.values())
    assert len(spans["a"]) == len(spans["b"]) == small[0].shape.t + 1
    assert max(a0, b0) < min(a1, b1), f"spans do not overlap: a {a0:.3f}–{a1:.3f}, b {b0:.3f}–{b1:.3f}"


def test_python_runs_while_the_core_works(small):
    recording = small[0]
    """A pure-Python thread keeps counting while the pipeline runs on the main thread."""
    ticks = []
    during = []
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    inside: list[float] = []
    t = threading.Thread(target=count)
    t.start()
    try:
        lt.track(recording, progress=lambda s, d, n: inside.append(time.perf_counter()))
    finally:
        stop.set()
        t.join()
    first, last = min(inside), max(inside)
    during = [x for x in ticks if first < x < last]
    assert len(during) >= 5, f"{len(during)} Python ticks during {last - first:.3f} s in the core"


def test_progress_reports_every_stage_in_order(small):
    seen: list[tuple[str, int, int]] = []
    lt.track(small[0], progress=lambda *a: seen.append(a))
    stages = [s for s, _, _ in seen]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == ["segment", "drift", "link", "metrics"]
    seg = [(d, n) for s, d, n in seen if s == "segment"]
    assert seg == [(t, 6) for t in range(7)]
    assert seen[-1] == ("metrics", 1, 1)


def test_tqdm_bars_by_default(small, capsys):
    lt.segment(small[0])  # progress=True: tqdm is installed with the test extra
    err = capsys.readouterr().err
    assert "segment" in err and "/6 [" in err and "timepoints" in err


def test_a_callback_returning_false_stops_the_run(recording):
    calls = []

    def progress(stage, done, total):
        calls.append(done)
        return done < 3

    with pytest.raises(KeyboardInterrupt, match="stopped by the progress callback"):
        lt.track(recording, progress=progress)
    assert max(calls) <= 4  # at most one more batch after the stop was asked


def test_an_exception_in_the_callback_propagates(recording):
    class Boom(Exception):
        pass

    def progress(stage, done, total):
        if done == 2:
            raise Boom("from the callback")

    with pytest.raises(Boom):
        lt.segment(recording, progress=progress)


def test_an_interrupted_synthesis_leaves_no_recording(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        lt.synth(tmp_path, frames=10, size={"x": 64, "y": 64, "z": 8}, progress=lambda s, d, n: d < 2)
    assert not (tmp_path / "recording.tif").exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tif"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_run_within_about_a_second(tmp_path):
    """A real SIGINT, as Ctrl-C in a terminal or Jupyter's interrupt button sends it."""
    # 120 timepoints: the fixture ten times over, as a folder of per-file timepoints.
    series = tmp_path / "series"
    series.mkdir()
    for i in range(10):
        (series / f"part{i + 1}.tif").symlink_to(FIXTURE)
    script = textwrap.dedent(
        f"""
        import sys, time
        import leukotrack as lt
        rec = lt.read({str(series)!r})
        assert rec.shape.t == 120, rec
        def progress(stage, done, total):
            if done == 1:
                print("started", flush=True)
        try:
            lt.track(rec, progress=progress)
        except KeyboardInterrupt as e:
            print("interrupted", time.perf_counter(), flush=True)
            sys.exit(3)
        print("finished", flush=True)
        """
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "started"
            time.sleep(0.3)
            sent = time.perf_counter()
            os.kill(proc.pid, signal.SIGINT)
            line = proc.stdout.readline().split()
            assert proc.wait(timeout=30) == 3, line
            assert line[0] == "interrupted"
            latency = float(line[1]) - sent
            assert latency < 1.5, f"stopped {latency:.2f} s after Ctrl-C"
        finally:
            if proc.poll() is None:
                proc.kill()


def test_fixture_still_exists():
    assert FIXTURE.exists()
