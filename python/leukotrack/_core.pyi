"""Type stubs of the native module ``leukotrack._core`` (Rust, pyo3).

Private: the public API is the ``leukotrack`` package around it. Tables go out as lists of
``(name, column)`` pairs (a 1-D numpy array, or a list of ``str`` for text) and come in as
dicts of such columns; settings come in as JSON: a stage's table of the configuration
(``config``) and the keywords given (``overrides``), applied over it by the core. Units: µm,
s, µm/min. Long calls release the GIL; ``progress(stage, done, total)`` returning ``False``
(or Ctrl-C) stops them with ``KeyboardInterrupt``.
"""

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Any, TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "Recording",
    "Analysis",
    "segment_volumes",
    "segment_recording",
    "link",
    "track_metrics",
    "steps",
    "msd",
    "autocorrelation",
    "msd_fit",
    "analyze",
    "evaluate",
    "synth_truth",
    "synth_write",
    "default_config",
    "default_config_toml",
    "load_config",
    "config_from_toml",
    "config_to_toml",
    "check_config",
    "resolve_config",
    "settings",
    "run_pipeline",
    "run_tune",
    "run_twin",
    "batch_discover",
    "batch_run_one",
    "batch_write_summary",
    "batch_summary_columns",
    "run_study",
    "study_recordings",
    "study_compare",
    "parse_partner",
    "run_interactions",
    "_panic_for_tests",
]

__version__: str

_Column: TypeAlias = npt.NDArray[np.float64] | npt.NDArray[np.int64] | npt.NDArray[np.uint64] | list[str]
_Table: TypeAlias = list[tuple[str, _Column]]
_NativeColumns: TypeAlias = dict[str, Any]
_ProgressFn: TypeAlias = Callable[[str, int, int], Any] | None
_StrPath: TypeAlias = str | PathLike[str]

@final
class Recording:
    """A recording opened lazily (page index and metadata; pixels read per volume)."""

    @staticmethod
    def open(
        path: _StrPath,
        voxel_size: Sequence[float] | None = None,
        frame_interval: float | None = None,
        shape: tuple[int, int, int] | None = None,
        page_order: str | None = None,
    ) -> Recording:
        """Opens a recording; ``voxel_size`` is ``[x, y, z]`` µm, ``shape`` ``(t, c, z)``."""
    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        """Sizes (t, c, z, y, x)."""
    @property
    def dtype(self) -> str:
        """``uint8``, ``uint16`` or ``float32``."""
    @property
    def stored_dtype(self) -> str:
        """The sample type stored in the file."""
    @property
    def path(self) -> str:
        """The path opened."""
    @property
    def format(self) -> str:
        """The kind of file."""
    @property
    def page_order(self) -> str:
        """Pages' order, fastest-varying first."""
    @property
    def files(self) -> list[str]:
        """The files holding the planes."""
    @property
    def warnings(self) -> list[str]:
        """Warnings from opening."""
    @property
    def calibration(self) -> dict[str, Any]:
        """``x``, ``y``, ``z``, ``frame_interval``: ``(value, source)`` or ``None``; ``frame_times``."""
    def volume(self, t: int, c: int) -> npt.NDArray[Any]:
        """The (z, y, x) stack of timepoint ``t``, channel ``c``."""

@final
class Analysis:
    """The results of the pipeline on one recording."""

    def detections(self) -> _Table:
        """``detections.csv``'s columns."""
    def tracks(self) -> _Table:
        """``tracks.csv``'s columns."""
    def track_metrics(self) -> _Table:
        """``track_metrics.csv``'s columns."""
    def steps(self) -> _Table:
        """``steps.csv``'s columns."""
    def msd(self) -> _Table:
        """``msd.csv``'s columns."""
    def autocorrelation(self) -> _Table:
        """``autocorrelation.csv``'s columns."""
    def drift(self) -> _Table:
        """``drift.csv``'s columns."""
    def summary(self) -> dict[str, Any]:
        """``summary.json``."""
    def metrics_summary(self) -> dict[str, Any]:
        """``metrics_summary.json``."""
    def qc(self) -> dict[str, Any]:
        """``qc.json``."""
    def interactions_csv(self) -> tuple[str, str] | None:
        """``interactions.csv`` and ``contacts.csv`` as text, or ``None`` without partners."""
    def projection(self) -> tuple[npt.NDArray[np.float32], tuple[float, float]] | None:
        """The (y, x) maximum-intensity projection and its pixel size (x, y) µm."""
    def save(self, out_dir: _StrPath, progress: _ProgressFn = None) -> None:
        """Writes the command line's files into ``out_dir``."""

def segment_volumes(
    channels: Sequence[npt.NDArray[Any]], frame: int, voxel_size: Sequence[float], config: str, overrides: str
) -> _Table:
    """Segments one timepoint given as (z, y, x) arrays, one per channel (read without a copy)."""

def segment_recording(recording: Recording, config: str, overrides: str, progress: _ProgressFn = None) -> _Table:
    """Segments every timepoint of a recording, streamed."""

def link(
    detections: _NativeColumns,
    frame_interval: float,
    config: str,
    overrides: str,
    drift_table: _NativeColumns | None = None,
) -> _Table:
    """Links detections into tracks."""

def track_metrics(tracks: _NativeColumns, overrides: str, frame_interval: float | None) -> _Table:
    """Per-track measures."""

def steps(tracks: _NativeColumns, overrides: str, frame_interval: float | None) -> _Table:
    """Per-step measures."""

def msd(tracks: _NativeColumns, overrides: str, frame_interval: float | None) -> _Table:
    """MSD against lag."""

def autocorrelation(tracks: _NativeColumns, overrides: str, frame_interval: float | None) -> _Table:
    """Velocity autocorrelation against lag."""

def msd_fit(tracks: _NativeColumns, overrides: str, frame_interval: float | None) -> dict[str, Any]:
    """The linear MSD fit (motility coefficient)."""

def analyze(
    tracks: _NativeColumns, overrides: str, frame_interval: float | None
) -> tuple[_Table, _Table, _Table, _Table, dict[str, Any]]:
    """Every metrics table and the population summary."""

def evaluate(truth: _NativeColumns, predicted: _NativeColumns, as_tracks: bool, overrides: str) -> dict[str, Any]:
    """Scores against ground truth."""

def synth_truth(config: str, overrides: str) -> _Table:
    """The ground truth of a simulation, without images."""

def synth_write(
    config: str, overrides: str, out_dir: _StrPath, deflate: bool = False, progress: _ProgressFn = None
) -> _Table:
    """Simulates a recording into ``out_dir``; returns the ground truth."""

def default_config() -> str:
    """The default pipeline configuration as JSON."""

def default_config_toml() -> str:
    """The commented default configuration file."""

def load_config(path: _StrPath) -> str:
    """A TOML configuration file as JSON."""

def config_from_toml(text: str) -> str:
    """TOML text as JSON."""

def config_to_toml(config: str) -> str:
    """A configuration (JSON) as TOML."""

def check_config(config: str) -> str:
    """The configuration checked, every default filled in."""

def resolve_config(base: str | None, overrides: str) -> str:
    """The effective configuration: ``base`` (or the defaults) with the keyword overrides."""

def settings() -> str:
    """The table of every setting, as JSON."""

def run_twin(recording: Recording, config: str, out_dir: _StrPath) -> str:
    """A twin written into ``out_dir``; ``twin.json`` as JSON."""
def run_tune(
    recording: Recording,
    config: str,
    out_dir: _StrPath,
    truth: _StrPath | None = None,
    budget: int | None = None,
    jobs: int | None = None,
) -> str:
    """The tuner; ``expected.json`` as JSON."""
def run_pipeline(recording: Recording, config: str, progress: _ProgressFn = None) -> Analysis:
    """Runs the pipeline on a recording."""

def batch_discover(roots: Sequence[_StrPath], series: bool = False) -> list[tuple[str, str]]:
    """The recordings under ``roots`` and their results folders' names."""

def batch_run_one(
    path: _StrPath, name: str, out_root: _StrPath, config: str, progress: _ProgressFn = None
) -> dict[str, Any]:
    """One recording of a batch; its summary row."""

def batch_write_summary(path: _StrPath, rows: str) -> None:
    """Writes ``summary.csv``."""

def batch_summary_columns() -> list[str]:
    """``summary.csv``'s columns."""

def run_study(
    table: _StrPath,
    out_dir: _StrPath,
    config: str,
    jobs: int | None = None,
    reference: str | None = None,
) -> str:
    """A study run into ``out_dir``; ``study.json`` as JSON."""

def study_recordings(table: _StrPath, config: str) -> list[tuple[str, str, str]]:
    """The recording rows: (path, results name, the row's configuration as JSON)."""

def study_compare(
    mouse: Sequence[str],
    group: Sequence[str],
    names: Sequence[str],
    values: Sequence[Sequence[float]],
    fractions: Sequence[bool],
    config: str,
    reference: str | None = None,
) -> str:
    """The comparisons, the mouse as the unit, as JSON rows."""

def parse_partner(spec: str) -> str:
    """A ``--partner`` shorthand as the JSON of an ``[[interact.partner]]`` table."""

def run_interactions(
    tracks: _NativeColumns, recording: Recording, config: str
) -> tuple[str, str, list[str], list[tuple[str, list[float]]]]:
    """Interactions of tracks: (interactions.csv, contacts.csv, track ids, per-track columns)."""

def _panic_for_tests(message: str) -> None:
    """Panics inside the guard (tests only)."""
