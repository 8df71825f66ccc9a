"""Answer snapshots: the contract variables of a notebook, saved without pickle.

A snapshot is a folder holding `manifest.json` plus one file per variable:
DataFrames and Series as Parquet (pyarrow), everything else that is plain data
(None, bool, int, float, str, list, tuple, set, dict, numpy scalars and 1-d
arrays, Timestamps, Timedeltas) as tagged JSON. Values of any other type are
recorded as unsupported, with the reason, and are absent when loaded.

This module is also loaded inside the grading sandbox by the cell runner, so it
imports nothing from ctlab and only stdlib at import time.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1
# Limits the trusted side applies when loading (a snapshot comes from untrusted code).
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_PARQUET_BYTES = 256 * 1024 * 1024  # uncompressed, from the Parquet metadata
MAX_JSON_DEPTH = 50


class SnapshotError(Exception):
    """A snapshot that cannot be read (missing, malformed, too large)."""


# ---------------------------------------------------------------- encoding (sandbox side)

def _encode(value: Any, depth: int = 0) -> Any:
    """Tagged JSON for plain data; raises TypeError for anything else."""
    if depth > MAX_JSON_DEPTH:
        raise TypeError("nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"__t": "float", "v": repr(value)}
    if isinstance(value, list):
        return [_encode(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"__t": "tuple", "v": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        items = [_encode(v, depth + 1) for v in value]
        try:
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        except TypeError:
            pass
        return {"__t": "set" if isinstance(value, set) else "frozenset", "v": items}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            if "__t" in value:
                return {"__t": "dict", "v": [[k, _encode(v, depth + 1)] for k, v in value.items()]}
            return {k: _encode(v, depth + 1) for k, v in value.items()}
        return {"__t": "dict", "v": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in value.items()]}
    mod = type(value).__module__ or ""
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(value, np.ndarray):
            if value.ndim != 1 or value.dtype.kind not in "biufUSOMm":
                raise TypeError(f"numpy array of shape {value.shape} and dtype {value.dtype}")
            return {"__t": "ndarray", "dtype": str(value.dtype) if value.dtype.kind != "O" else "object",
                    "v": [_encode(v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v, depth + 1)
                          for v in value]}
        if isinstance(value, np.generic):
            return _encode(value.item(), depth + 1)
    if mod.startswith("pandas"):
        import pandas as pd

        if value is pd.NaT:
            return {"__t": "NaT"}
        if isinstance(value, pd.Timestamp):
            return {"__t": "Timestamp", "v": value.isoformat()}
        if isinstance(value, pd.Timedelta):
            return {"__t": "Timedelta", "v": value.value}
        if isinstance(value, pd.Index):
            return {"__t": "Index", "v": [_encode(v, depth + 1) for v in value.tolist()]}
        if value is pd.NA:
            return {"__t": "NA"}
    import datetime as dt

    if isinstance(value, dt.datetime):
        return {"__t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"__t": "timedelta", "v": value.total_seconds()}
    raise TypeError(f"values of type {type(value).__name__} cannot be saved")


def _write_parquet(value: Any, path: Path) -> str:
    import pandas as pd

    if isinstance(value, pd.Series):
        name = value.name
        frame = value.to_frame(name="__series__")
        kind = "series"
        extra = {"name": _encode(name) if name is not None else None}
    else:
        frame = value
        kind = "dataframe"
        extra = {}
    frame.to_parquet(path, engine="pyarrow", compression=None)
    return kind, extra


def write_snapshot(namespace: dict, names: list[str], folder: str | os.PathLike, cell: int,
                   previous: tuple[str | os.PathLike, dict] | None = None, reuse: frozenset = frozenset()) -> dict:
    """Write the variables of `names` present in `namespace` to a new snapshot folder.

    The folder appears complete or not at all: files go to `<folder>.tmp`, which is
    renamed once the manifest is written. Returns the manifest. Variables named in
    `reuse` are hard-linked from the `previous` (folder, manifest) instead of rewritten:
    the caller knows they have not changed.
    """
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    entries: dict[str, dict] = {}
    for i, name in enumerate(names):
        if name not in namespace:
            continue
        value = namespace[name]
        entry: dict[str, Any] = {"type": type(value).__name__}
        if previous is not None and name in reuse:
            old = previous[1]["variables"].get(name)
            if old and old.get("file"):
                try:
                    os.link(Path(previous[0]) / old["file"], tmp / old["file"])
                    entries[name] = old
                    continue
                except OSError:
                    pass
        try:
            mod = type(value).__module__ or ""
            import_pd = mod.startswith("pandas")
            if import_pd:
                import pandas as pd

                if isinstance(value, (pd.DataFrame, pd.Series)):
                    fname = f"v{i}.parquet"
                    kind, extra = _write_parquet(value, tmp / fname)
                    entry.update(kind=kind, file=fname, **extra)
                    entries[name] = entry
                    continue
            data = json.dumps(_encode(value), allow_nan=False)
            fname = f"v{i}.json"
            (tmp / fname).write_text(data, encoding="utf-8")
            entry.update(kind="json", file=fname)
        except Exception as exc:  # unsupported or unwritable: say why
            entry.update(kind="unsupported", reason=f"{type(exc).__name__}: {exc}"[:300])
        entries[name] = entry
    manifest = {"format": FORMAT, "cell": cell, "variables": entries}
    (tmp / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.rename(tmp, folder)
    return manifest


# ---------------------------------------------------------------- decoding (trusted side)

def _decode(obj: Any, depth: int = 0) -> Any:
    if depth > MAX_JSON_DEPTH + 5:
        raise SnapshotError("nested too deeply")
    if isinstance(obj, list):
        return [_decode(v, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get("__t")
    if tag is None:
        return {k: _decode(v, depth + 1) for k, v in obj.items()}
    v = obj.get("v")
    if tag == "float":
        return float(v) if v in ("nan", "inf", "-inf") else float("nan")
    if tag == "tuple":
        return tuple(_decode(x, depth + 1) for x in v)
    if tag in ("set", "frozenset"):
        items = [_decode(x, depth + 1) for x in v]
        return set(items) if tag == "set" else frozenset(items)
    if tag == "dict":
        return {_freeze(_decode(k, depth + 1)): _decode(x, depth + 1) for k, x in v}
    if tag == "ndarray":
        import numpy as np

        dtype = obj.get("dtype", "object")
        items = [_decode(x, depth + 1) for x in v]
        try:
            return np.array(items, dtype=np.dtype(dtype))
        except Exception:
            return np.array(items, dtype=object)
    if tag in ("NaT", "NA", "Timestamp", "Timedelta", "Index"):
        import pandas as pd

        if tag == "NaT":
            return pd.NaT
        if tag == "NA":
            return pd.NA
        if tag == "Timestamp":
            return pd.Timestamp(v)
        if tag == "Timedelta":
            return pd.Timedelta(int(v))
        return pd.Index([_decode(x, depth + 1) for x in v])
    if tag == "datetime":
        import datetime as dt

        return dt.datetime.fromisoformat(v)
    if tag == "timedelta":
        import datetime as dt

        return dt.timedelta(seconds=float(v))
    raise SnapshotError(f"unknown tag {tag!r}")


def _freeze(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    return x


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > MAX_PARQUET_BYTES:
        raise SnapshotError(f"{path.name} expands to {size} bytes (limit {MAX_PARQUET_BYTES})")
    return pq.read_table(path).to_pandas()


def read_manifest(path: str | os.PathLike) -> dict:
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise SnapshotError(f"{path}: no {MANIFEST}")
    if mpath.stat().st_size > MAX_JSON_BYTES:
        raise SnapshotError(f"{mpath}: too large")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SnapshotError(f"{mpath}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("variables"), dict):
        raise SnapshotError(f"{mpath}: not a snapshot manifest")
    return manifest


def load_snapshot_with_problems(path: str | os.PathLike) -> tuple[dict[str, object], dict[str, str]]:
    """Load a snapshot; return (values, {name: why it is missing}) for unsupported or bad entries."""
    path = Path(path)
    manifest = read_manifest(path)
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for name, entry in manifest["variables"].items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            continue
        kind = entry.get("kind")
        fname = entry.get("file")
        try:
            if kind == "unsupported":
                problems[name] = f"could not be saved ({entry.get('reason', 'unsupported type')})"
                continue
            if not isinstance(fname, str) or "/" in fname or "\\" in fname or fname.startswith("."):
                raise SnapshotError("bad file name in manifest")
            fpath = path / fname
            if kind == "json":
                if fpath.stat().st_size > MAX_JSON_BYTES:
                    raise SnapshotError("value too large")
                values[name] = _decode(json.loads(fpath.read_text(encoding="utf-8")))
            elif kind == "dataframe":
                values[name] = _read_parquet(fpath)
            elif kind == "series":
                frame = _read_parquet(fpath)
                series = frame["__series__"]
                raw = entry.get("name")
                series.name = _decode(raw) if raw is not None else None
                values[name] = series
            else:
                raise SnapshotError(f"unknown kind {kind!r}")
        except Exception as exc:
            problems[name] = f"could not be loaded ({type(exc).__name__}: {exc})"[:300]
    return values, problems


def load_snapshot(path: str | os.PathLike) -> dict[str, object]:
    """Read a snapshot folder into {variable name: value}. Never unpickles anything."""
    values, _ = load_snapshot_with_problems(path)
    return values
