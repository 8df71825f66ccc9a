"""Answer snapshots: the contract variables of a notebook, saved without pickle.

A snapshot is a folder holding `manifest.json` plus one file per variable:
DataFrames, Series, pandas arrays (string, Arrow, categorical, datetime...) and
Indexes as Parquet (pyarrow); everything else that is plain data (None, bool,
int, float, complex, str, list, tuple, set, dict, numpy scalars and 1-d arrays,
Timestamps, Timedeltas) as tagged JSON. Values of any other type are recorded as
unsupported, with the reason, and are absent when loaded.

A frame column that Parquet cannot store as it is (values of mixed types, dicts,
lists) is saved as text instead, and the manifest entry lists it under
`text_columns` with a `note`; the other columns keep their types.

Loading is done by the trusted grader, but the files come from the sandbox that
ran the submission, so they may be forged: the loader accepts only known tags and
a short list of numpy dtypes, only flat, uncompressed Parquet columns of plain
types, and refuses any file or decoded value larger than the limits below before
it is built in memory.

This module is also loaded inside the grading sandbox by the cell runner, so it
imports nothing from ctlab and only stdlib at import time.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1
# Limits the trusted side applies when loading (a snapshot comes from untrusted code).
MAX_JSON_BYTES = 8 * 1024 * 1024  # on disk; Python objects built from it stay well under MAX_VALUE_BYTES
MAX_VALUE_BYTES = 256 * 1024 * 1024  # decoded size of one variable
MAX_PARQUET_BYTES = MAX_VALUE_BYTES  # kept for callers of the old name
MAX_CELLS = 16 * 1024 * 1024  # rows x columns of one Parquet file
MAX_JSON_DEPTH = 50
# Rough in-memory cost of one decoded JSON item (object header plus its slot in a container).
_ITEM_COST = 48

_SERIES_COLUMN = "__series__"


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
    if isinstance(value, complex):
        return {"__t": "complex", "v": [_encode(value.real, depth + 1), _encode(value.imag, depth + 1)]}
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
            return _encode_ndarray(value, depth)
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
        if isinstance(value, pd.api.extensions.ExtensionArray):  # inside a container: its values
            return {"__t": "ndarray", "dtype": "object", "v": [_encode(v, depth + 1) for v in value.tolist()]}
    import datetime as dt

    if isinstance(value, dt.datetime):
        return {"__t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"__t": "timedelta", "v": value.total_seconds()}
    raise TypeError(f"values of type {type(value).__name__} cannot be saved")


def _encode_ndarray(value: Any, depth: int) -> dict:
    kind = value.dtype.kind
    if value.ndim != 1 or kind not in "biufcUSOMm":
        raise TypeError(f"numpy array of shape {value.shape} and dtype {value.dtype}")
    if kind in "Mm":  # int64 counts of the dtype's unit; NaT is the smallest int64
        return {"__t": "ndarray", "dtype": str(value.dtype), "i8": value.view("i8").tolist()}
    if kind in "biufc":
        return {"__t": "ndarray", "dtype": str(value.dtype), "v": [_encode(v, depth + 1) for v in value.tolist()]}
    # str, bytes and object arrays are saved (and loaded) as arrays of objects
    return {"__t": "ndarray", "dtype": "object", "v": [_encode(v, depth + 1) for v in value.tolist()]}


def _text(v: Any) -> Any:
    """One value of a column saved as text: missing stays missing, anything else is str(v)."""
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    import pandas as pd

    if v is pd.NaT or v is pd.NA:
        return None
    return str(v)


def _is_flat(t: Any) -> bool:
    """Arrow types a snapshot may hold: plain scalars, or a dictionary (category) of them."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return pa.types.is_integer(t.index_type) and _is_flat(t.value_type)
    return (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_decimal(t) or pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t)
            or pa.types.is_duration(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t))


def _column_ok(col: Any) -> bool:
    import pyarrow as pa

    try:
        return _is_flat(pa.array(col, from_pandas=True).type)
    except Exception:  # noqa: BLE001 - mixed types, unsupported objects
        return False


def _frame_to_table(frame: Any) -> tuple[Any, list]:
    """An Arrow table of `frame`; columns Parquet cannot hold as they are become text.

    Returns (table, labels of the columns saved as text).
    """
    import warnings

    import pyarrow as pa

    with warnings.catch_warnings():  # e.g. "column names of mixed type": not the student's concern
        warnings.simplefilter("ignore")
        return _frame_to_table_quiet(frame, pa)


def _frame_to_table_quiet(frame: Any, pa: Any) -> tuple[Any, list]:
    try:
        table = pa.Table.from_pandas(frame)
        if all(_is_flat(f.type) for f in table.schema):
            return table, []
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        if "Duplicate column names" in str(exc):
            raise
    converted = []
    frame = frame.copy(deep=False)
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if not _column_ok(col):
            frame.isetitem(j, [_text(v) for v in col])
            frame.isetitem(j, frame.iloc[:, j].astype(object))
            converted.append(frame.columns[j])
    table = pa.Table.from_pandas(frame)
    bad = [f.name for f in table.schema if not _is_flat(f.type)]
    if bad:
        raise TypeError(f"the index holds values Parquet cannot store ({', '.join(bad)})")
    return table, converted


def _write_parquet(value: Any, path: Path) -> tuple[str, dict]:
    import pandas as pd
    import pyarrow.parquet as pq

    extra: dict[str, Any] = {}
    if isinstance(value, pd.DataFrame):
        frame, kind = value, "dataframe"
    else:
        if isinstance(value, pd.Series):
            kind, series = "series", value
        elif isinstance(value, pd.Index):
            kind, series = "index", pd.Series(value, index=pd.RangeIndex(len(value)), copy=False)
        else:  # a pandas ExtensionArray (ArrowStringArray, Categorical, DatetimeArray...)
            kind, series = "array", pd.Series(value, copy=False)
        if kind != "array":
            extra["name"] = _encode(value.name) if value.name is not None else None
        frame = series.to_frame(name=_SERIES_COLUMN)
    table, converted = _frame_to_table(frame)
    if converted:
        if kind == "dataframe":
            labels = [str(c) for c in converted]
            extra["text_columns"] = labels
            extra["note"] = f"saved as text (values of mixed or nested types): {', '.join(labels)}"
        else:
            extra["text_columns"] = [_SERIES_COLUMN]
            extra["note"] = "values saved as text (values of mixed or nested types)"
    pq.write_table(table, path, compression="none")
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
            if (type(value).__module__ or "").startswith("pandas"):
                import pandas as pd

                if isinstance(value, (pd.DataFrame, pd.Series, pd.api.extensions.ExtensionArray)) or (
                        isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex)):
                    fname = f"v{i}.parquet"
                    try:
                        kind, extra = _write_parquet(value, tmp / fname)
                        entry.update(kind=kind, file=fname, **extra)
                        entries[name] = entry
                        continue
                    except Exception:
                        (tmp / fname).unlink(missing_ok=True)
                        if isinstance(value, (pd.DataFrame, pd.Series)):
                            raise
                        # an array or Index Parquet cannot hold: its values, as JSON below
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

# numpy dtypes a snapshot may name; str/bytes arrays are loaded as object arrays
_NUMERIC_DTYPE = re.compile(r"(bool|u?int(8|16|32|64)|float(16|32|64)|complex(64|128))")
_TIME_DTYPE = re.compile(r"(datetime64|timedelta64)\[(Y|M|W|D|h|m|s|ms|us|ns)\]")
_TEXT_DTYPE = re.compile(r"[<>|=]?[US][0-9]{0,12}|object")


class _Budget:
    """What a JSON value costs once decoded; refuses past MAX_VALUE_BYTES."""

    def __init__(self) -> None:
        self.used = 0

    def charge(self, n: int) -> None:
        self.used += n
        if self.used > MAX_VALUE_BYTES:
            raise SnapshotError(f"value too large once decoded (limit {MAX_VALUE_BYTES} bytes)")


def _decode(obj: Any, depth: int = 0, budget: _Budget | None = None) -> Any:
    if budget is None:
        budget = _Budget()
    if depth > MAX_JSON_DEPTH + 5:
        raise SnapshotError("nested too deeply")
    budget.charge(_ITEM_COST + (len(obj) if isinstance(obj, str) else 0))
    if isinstance(obj, list):
        return [_decode(v, depth + 1, budget) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get("__t")
    if tag is None:
        budget.charge(sum(len(k) for k in obj))
        return {k: _decode(v, depth + 1, budget) for k, v in obj.items()}
    v = obj.get("v")
    if tag == "float":
        return float(v) if v in ("nan", "inf", "-inf") else float("nan")
    if tag == "complex":
        re_, im = _items(v, depth, budget)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (re_, im)):
            raise SnapshotError("bad complex value")
        return complex(re_, im)
    if tag == "tuple":
        return tuple(_items(v, depth, budget))
    if tag in ("set", "frozenset"):
        items = _items(v, depth, budget)
        return set(items) if tag == "set" else frozenset(items)
    if tag == "dict":
        pairs = _items(v, depth, budget)
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise SnapshotError("bad dict value")
        return {_freeze(k): x for k, x in pairs}
    if tag == "ndarray":
        return _decode_ndarray(obj, depth, budget)
    if tag in ("NaT", "NA", "Timestamp", "Timedelta", "Index"):
        import pandas as pd

        if tag == "NaT":
            return pd.NaT
        if tag == "NA":
            return pd.NA
        if tag == "Timestamp":
            return pd.Timestamp(_str(v))
        if tag == "Timedelta":
            return pd.Timedelta(int(v))
        return pd.Index(_items(v, depth, budget))
    if tag == "datetime":
        import datetime as dt

        return dt.datetime.fromisoformat(_str(v))
    if tag == "timedelta":
        import datetime as dt

        return dt.timedelta(seconds=float(v))
    raise SnapshotError(f"unknown tag {str(tag)[:40]!r}")


def _str(v: Any) -> str:
    if not isinstance(v, str) or len(v) > 100:
        raise SnapshotError("bad date or time value")
    return v


def _items(v: Any, depth: int, budget: _Budget) -> list:
    if not isinstance(v, list):
        raise SnapshotError("tagged value without a list of items")
    return [_decode(x, depth + 1, budget) for x in v]


def _decode_ndarray(obj: dict, depth: int, budget: _Budget) -> Any:
    import numpy as np

    dtype = obj.get("dtype", "object")
    if not isinstance(dtype, str):
        raise SnapshotError("bad array dtype")
    if _TIME_DTYPE.fullmatch(dtype):
        ints = obj.get("i8")
        if not isinstance(ints, list) or not all(type(x) is int for x in ints):
            raise SnapshotError(f"bad {dtype} array")
        budget.charge(8 * len(ints))
        try:
            return np.array(ints, dtype=np.int64).view(dtype)
        except OverflowError:
            raise SnapshotError(f"bad {dtype} array") from None
    if _NUMERIC_DTYPE.fullmatch(dtype):
        items = _items(obj.get("v"), depth, budget)
        if not all(isinstance(x, (bool, int, float, complex)) for x in items):
            raise SnapshotError(f"bad {dtype} array")
        try:
            return np.array(items, dtype=np.dtype(dtype))
        except (OverflowError, TypeError, ValueError):
            raise SnapshotError(f"bad {dtype} array") from None
    if _TEXT_DTYPE.fullmatch(dtype):
        items = _items(obj.get("v"), depth, budget)
        arr = np.empty(len(items), dtype=object)
        for i, x in enumerate(items):  # element by element: nested lists stay objects
            arr[i] = x
        return arr
    raise SnapshotError(f"array dtype {dtype[:40]!r} is not allowed")


def _freeze(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    return x


def _read_json(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise SnapshotError(f"{path.name} is {size} bytes (limit {MAX_JSON_BYTES})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise SnapshotError(f"{path.name}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path.name}: not valid JSON ({exc})") from None
    return _decode(raw)


def _read_parquet(path: Path):
    """A Parquet file as a DataFrame, refusing anything that would expand past MAX_VALUE_BYTES.

    The file's metadata is checked first (size on disk, no compression, flat columns of
    plain types, rows x columns); text columns are then read as dictionaries, so a value
    repeated by the encoding is held once, and the size they expand to is computed
    before they are decoded.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    size = path.stat().st_size
    if size > MAX_VALUE_BYTES:
        raise SnapshotError(f"{path.name} is {size} bytes (limit {MAX_VALUE_BYTES})")
    pf = pq.ParquetFile(path)
    meta, schema = pf.metadata, pf.schema_arrow
    odd = [f.name for f in schema if not _is_flat(f.type)]
    if odd:
        raise SnapshotError(f"{path.name}: columns of unsupported types ({', '.join(map(str, odd[:5]))})")
    cells = meta.num_rows * max(meta.num_columns, 1)
    if cells > MAX_CELLS:
        raise SnapshotError(f"{path.name} holds {cells} cells (limit {MAX_CELLS})")
    declared = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        for j in range(rg.num_columns):
            cc = rg.column(j)
            if cc.compression != "UNCOMPRESSED":
                raise SnapshotError(f"{path.name}: compressed columns are not accepted")
            declared += max(cc.total_uncompressed_size, 0)
    if declared > MAX_VALUE_BYTES:
        raise SnapshotError(f"{path.name} expands to {declared} bytes (limit {MAX_VALUE_BYTES})")
    text = [f.name for f in schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            or pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if len(set(schema.names)) != len(schema.names):
        raise SnapshotError(f"{path.name}: duplicate column names")
    table = pq.ParquetFile(path, read_dictionary=text).read(use_threads=False)
    expanded = table.nbytes
    for name in text:
        for chunk in table.column(name).chunks:
            if pa.types.is_dictionary(chunk.type):
                lengths = pc.binary_length(chunk.dictionary)
                total = pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
                expanded += total + 8 * len(chunk)
        if expanded > MAX_VALUE_BYTES:
            break
    if expanded > MAX_VALUE_BYTES:
        raise SnapshotError(f"{path.name} expands to more than {MAX_VALUE_BYTES} bytes")
    table = table.cast(schema)
    if table.nbytes > MAX_VALUE_BYTES:
        raise SnapshotError(f"{path.name} expands to {table.nbytes} bytes (limit {MAX_VALUE_BYTES})")
    return table.to_pandas()


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


def _series_of(frame: Any, entry: dict) -> Any:
    if _SERIES_COLUMN not in frame.columns:
        raise SnapshotError(f"no {_SERIES_COLUMN} column")
    series = frame[_SERIES_COLUMN]
    raw = entry.get("name")
    series.name = _decode(raw) if raw is not None else None
    return series


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
                values[name] = _read_json(fpath)
            elif kind == "dataframe":
                values[name] = _read_parquet(fpath)
            elif kind == "series":
                values[name] = _series_of(_read_parquet(fpath), entry)
            elif kind == "index":
                import pandas as pd

                values[name] = pd.Index(_series_of(_read_parquet(fpath), entry))
            elif kind == "array":
                values[name] = _series_of(_read_parquet(fpath), {}).array
            else:
                raise SnapshotError(f"unknown kind {str(kind)[:40]!r}")
        except Exception as exc:
            problems[name] = f"could not be loaded ({type(exc).__name__}: {exc})"[:300]
    return values, problems


def load_snapshot(path: str | os.PathLike) -> dict[str, object]:
    """Read a snapshot folder into {variable name: value}. Never unpickles anything."""
    values, _ = load_snapshot_with_problems(path)
    return values
