"""leukotrack: segmentation, tracking and motility statistics of immune cells in two-photon
intravital recordings — a fast Rust core, with numpy arrays and pandas DataFrames here.

Units: positions and sizes in µm, times in s, speeds in µm/min; image axes (t, c, z, y, x);
frames and channels numbered from 0. Every table has the command line's columns, each name
carrying its unit.

>>> import leukotrack as lt
>>> rec, truth = lt.synth(getfixture("tmp_path") / "sim", frames=4, size={"x": 96, "y": 96, "z": 10},
...                       progress=False)                       # a recording with known truth
>>> det = lt.segment(rec, cell_diameter=10, progress=False)      # detections.csv's rows, µm
>>> tracks = lt.link(det, frame_interval=rec.calibration.frame_interval, gap_frames=2)
>>> speeds = lt.metrics(tracks).speed_um_per_min                 # µm/min per track (celltrackR)
>>> bool(speeds.notna().any())
True
>>> analysis = lt.track(rec, progress=False)                      # everything at once
>>> analysis.config["link"]["gap_frames"]                         # keyword > config= > default
3
>>> out = analysis.save(getfixture("tmp_path") / "results")      # the command line's files
>>> (out / "summary.json").is_file()
True
"""

from __future__ import annotations

from . import _core
from ._pipeline import (
    Analysis,
    config_from_toml,
    config_to_toml,
    default_config,
    default_config_toml,
    interactions,
    load_config,
    settings,
    track,
    tune,
    twin,
)
from ._recording import Calibration, Recording, Shape, read
from ._study import Study, study
from ._stages import (
    autocorrelation,
    evaluate,
    link,
    metrics,
    motility_coefficient,
    motility_summary,
    msd,
    segment,
    steps,
    synth,
    synth_truth,
)
from .errors import (
    BatchError,
    InternalError,
    InvalidInputError,
    LeukotrackError,
    RecordingError,
    UnsupportedError,
)
from .interop import from_trackpy, to_napari, to_trackpy

__version__: str = _core.__version__

__all__ = [
    "Analysis",
    "BatchError",
    "InternalError",
    "UnsupportedError",
    "settings",
    "Calibration",
    "InvalidInputError",
    "LeukotrackError",
    "Recording",
    "RecordingError",
    "Shape",
    "autocorrelation",
    "config_from_toml",
    "config_to_toml",
    "default_config",
    "default_config_toml",
    "evaluate",
    "from_trackpy",
    "interactions",
    "link",
    "load_config",
    "metrics",
    "motility_coefficient",
    "motility_summary",
    "msd",
    "read",
    "segment",
    "steps",
    "Study",
    "study",
    "synth",
    "synth_truth",
    "to_napari",
    "to_trackpy",
    "track",
    "tune",
    "twin",
]
