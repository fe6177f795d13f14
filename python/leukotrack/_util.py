"""Checks and conversions of arguments shared by the public functions."""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import InvalidInputError

AXES = ("x", "y", "z")


def invalid(parameter: str, reason: str) -> InvalidInputError:
    """An :class:`InvalidInputError` about ``parameter`` (message as the library's own)."""
    e = InvalidInputError(f"invalid parameter `{parameter}`: {reason}")
    e.kind = "invalid_parameter"
    e.parameter = parameter
    e.reason = reason
    return e


def is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def number(name: str, v: Any, *, positive: bool = False, nonneg: bool = False) -> float:
    """``v`` as a finite float (``positive``: > 0; ``nonneg``: ≥ 0)."""
    if not is_number(v) or not math.isfinite(float(v)):
        raise invalid(name, f"expected a finite number, got {v!r}")
    f = float(v)
    if positive and not f > 0:
        raise invalid(name, f"must be > 0, got {v!r}")
    if nonneg and not f >= 0:
        raise invalid(name, f"must be ≥ 0, got {v!r}")
    return f


def integer(name: str, v: Any, *, minimum: int | None = 0) -> int:
    """``v`` as an int (numpy integers accepted; bools and floats refused)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise invalid(name, f"expected an integer, got {v!r}")
    i = int(v)
    if minimum is not None and i < minimum:
        raise invalid(name, f"must be ≥ {minimum}, got {i}")
    return i


def flag(name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise invalid(name, f"expected True or False, got {v!r}")
    return bool(v)


_TUPLE_REFUSED = (
    "a bare sequence is refused: numpy users write spacing as (z, y, x), the command line "
    "as X,Y,Z, and leukotrack never guesses which; give a dict "
    "{'x': …, 'y': …, 'z': …}"
)


def xyz(name: str, v: Any, *, positive: bool = True, allow_2d: bool = False) -> list[float]:
    """A dict ``{"x", "y", "z"}`` (``z`` optional when ``allow_2d``, then 0) as ``[x, y, z]``."""
    if not isinstance(v, Mapping):
        if isinstance(v, (tuple, list, np.ndarray)):
            raise invalid(name, _TUPLE_REFUSED)
        raise invalid(name, f"expected a dict {{'x': …, 'y': …, 'z': …}}, got {v!r}")
    keys = set(v)
    need = {"x", "y"} if allow_2d else set(AXES)
    unknown = keys - set(AXES)
    if unknown or not need <= keys:
        raise invalid(
            name,
            f"expected the keys 'x', 'y'{', ' if allow_2d else ' and '}'z'"
            f"{' (optional)' if allow_2d else ''}, got {sorted(map(str, keys))}",
        )
    out = [number(f"{name}['{a}']", v[a], positive=positive) for a in ("x", "y")]
    out.append(number(f"{name}['z']", v["z"], positive=positive) if "z" in v else 0.0)
    return out


def voxel_size(v: Any, *, name: str = "voxel_size") -> list[float] | None:
    """A voxel size (dict in µm, or a :class:`~leukotrack.Calibration`) as ``[x, y, z]``."""
    if v is None:
        return None
    from ._recording import Calibration

    if isinstance(v, Calibration):
        vs = v.voxel_size
        if vs is None:
            raise invalid(name, "this Calibration does not have a voxel size along x, y and z")
        return [vs["x"], vs["y"], vs["z"]]
    return xyz(name, v)


def frame_interval(v: Any, *, name: str = "frame_interval") -> float | None:
    """A frame interval in s (a number, or a :class:`~leukotrack.Calibration`'s)."""
    if v is None:
        return None
    from ._recording import Calibration

    if isinstance(v, Calibration):
        if v.frame_interval is None:
            raise invalid(name, "this Calibration does not have a frame interval")
        return v.frame_interval
    return number(name, v, positive=True)


def shape_tcz(v: Any) -> tuple[int, int, int] | None:
    """``{"t", "c", "z"}`` as ``(t, c, z)``."""
    if v is None:
        return None
    if not isinstance(v, Mapping):
        raise invalid(
            "shape",
            "expected a dict {'t': …, 'c': …, 'z': …} (as the command line's --shape T,C,Z)",
        )
    if set(v) != {"t", "c", "z"}:
        raise invalid("shape", f"expected the keys 't', 'c' and 'z', got {sorted(map(str, v))}")
    t, c, z = (integer(f"shape['{k}']", v[k], minimum=1) for k in ("t", "c", "z"))
    return (t, c, z)


def path(name: str, v: Any) -> str:
    if not isinstance(v, (str, os.PathLike)):
        raise invalid(name, f"expected a path, got {type(v).__name__}")
    return os.fspath(v)


def to_json(name: str, value: Any) -> str:
    """JSON for the native module; NaN and infinities are refused."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise invalid(name, str(e)) from None


def plain(name: str, v: Any) -> Any:
    """``v`` as plain JSON values for the native module: numpy scalars and arrays, paths,
    tuples and :class:`~leukotrack.Calibration` objects converted (the core checks the rest
    and names ``name`` in its errors)."""
    from ._recording import Calibration

    if isinstance(v, Calibration):
        if name == "frame_interval":
            return frame_interval(v, name=name)
        vs = voxel_size(v, name=name)
        return None if vs is None else dict(zip(AXES, vs))
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, (list, tuple)):
        return [plain(name, x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): plain(f"{name}['{k}']", x) for k, x in v.items()}
    return v


def keywords(overrides: Mapping[str, Any]) -> str:
    """The keyword overrides given (``None`` is "not given") as JSON for the native module; a
    value JSON cannot hold (NaN, a DataFrame) is refused naming its keyword."""
    given = {k: plain(k, v) for k, v in overrides.items() if v is not None}
    for k, v in given.items():
        to_json(k, v)
    return to_json("overrides", given)


def deprecated(old: str, new: str) -> None:
    """Warns that the keyword ``old`` is deprecated in favour of ``new``."""
    import warnings

    warnings.warn(f"`{old}=` is deprecated: use {new}", DeprecationWarning, stacklevel=4)
