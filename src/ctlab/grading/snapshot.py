"""Answer snapshots: the contract variables of a notebook, saved without pickle.

A snapshot is a folder holding `manifest.json` plus one file per variable:
DataFrames, Series, pandas arrays (string, Arrow, categorical, datetime...) and
Indexes as Parquet (pyarrow); everything else that is plain data (None, bool,
int, float, complex, str, list, tuple, set, dict, numpy scalars and 1-d arrays,
Timestamps, Timedeltas) as tagged JSON.

A frame column (or index level) that Parquet cannot store as it is (values of mixed
types, dicts, lists, intervals, periods) is saved as text instead, and the manifest entry
lists it under `text_columns` with a `note`; the other columns keep their types. Column
labels other than text or integers are saved as their text, with a note. Values the
writer refuses (MultiIndex columns, duplicate column names, too large, unsupported
types) are recorded as unsupported with a reason code (`why`, see WHY) and are absent
when loaded; the loader puts the code in words, as the manifest is written beside the
submission's code.

Loading is done by the trusted grader, but the files come from the sandbox that
ran the submission, so they may be forged: the loader accepts only known tags and
a short list of numpy dtypes, only flat, uncompressed Parquet columns of plain
types, builds frames from their Arrow columns and a few checked labels of the pandas
metadata (never pyarrow's own reading of that metadata), and refuses any file or
decoded value larger than the limits below before it is built in memory.

This module is also loaded inside the grading sandbox by the cell runner, so it
imports nothing from ctlab and only stdlib at import time.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1
# Limits the trusted side applies when loading (a snapshot comes from untrusted code).
MAX_JSON_BYTES = 8 * 1024 * 1024  # on disk; Python objects built from it stay well under MAX_VALUE_BYTES
MAX_VALUE_BYTES = 256 * 1024 * 1024  # decoded size of one variable
MAX_PARQUET_BYTES = MAX_VALUE_BYTES  # kept for callers of the old name
MAX_CELLS = 16 * 1024 * 1024  # rows x columns of one Parquet file
MAX_COLUMNS = 10_000  # of one frame
MAX_INDEX_LEVELS = 32
MAX_ROW_GROUPS = 1000  # of one Parquet file (the writer makes one per million rows)
MAX_FOOTER_BYTES = 16 * 1024 * 1024  # Parquet metadata (schema, row groups), checked before it is parsed
MAX_LABEL_CHARS = 1000  # of a column label or index name
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
        raise Unsupported("nested")
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
    raise Unsupported("type", type=type(value).__name__[:60])


def _encode_ndarray(value: Any, depth: int) -> dict[str, Any]:
    kind = value.dtype.kind
    if value.ndim != 1 or kind not in "biufcUSOMm":
        raise Unsupported("array", shape=[int(n) for n in value.shape[:8]], dtype=str(value.dtype)[:40])
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
    return bool(pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_decimal(t) or pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t)
            or pa.types.is_duration(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t))


def _column_ok(col: Any) -> bool:
    import pyarrow as pa

    try:
        return _is_flat(pa.array(col, from_pandas=True).type)
    except Exception:  # noqa: BLE001 - mixed types, unsupported objects
        return False


class Unsupported(Exception):
    """A value the snapshot refuses, with a reason code the trusted side turns into words
    (see WHY): the manifest carries codes and typed details, never text to be shown."""

    def __init__(self, why: str, **detail: Any):
        super().__init__(why)
        self.why, self.detail = why, detail


def _plain_label(label: Any) -> bool:
    import numpy as np

    return isinstance(label, str) or (isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)))


def _label_text(labels: list[Any]) -> list[str]:
    """A few labels as short text, for a reason or a note."""
    return [str(x)[:40] for x in labels[:5]]


def _plain_frame(frame: Any) -> tuple[Any, list[str]]:
    """`frame` as a plain DataFrame whose labels Parquet keeps: labels other than str and int
    become their text, a frame of no columns keeps its rows, attrs are dropped. Returns
    (frame, notes); raises Unsupported for MultiIndex or duplicate column labels."""
    from collections import Counter

    import pandas as pd

    if isinstance(frame.columns, pd.MultiIndex):
        raise Unsupported("multiindex_columns")
    frame = pd.DataFrame(frame, copy=False)  # a subclass becomes a plain frame, no attrs
    frame.attrs = {}
    notes = []
    labels = list(frame.columns)
    # Parquet names columns with text; labels come back as integers only when all were
    non_text = [x for x in labels if not isinstance(x, str)]
    all_int = len(non_text) == len(labels) and all(_plain_label(x) for x in non_text)
    odd = [] if all_int else non_text
    dups = [k for k, n in Counter(str(x) for x in labels).items() if n > 1]
    if dups:
        raise Unsupported("duplicate_columns", labels=_label_text(dups))
    if odd:
        frame = frame.set_axis(pd.Index([str(x) for x in labels], dtype=object, tupleize_cols=False), axis=1)
        notes.append(f"column labels saved as text: {', '.join(_label_text(odd))}")
    names = list(frame.index.names)
    if any(n is not None and not _plain_label(n) for n in names):
        frame = frame.rename_axis([n if n is None or _plain_label(n) else str(n) for n in names])
        notes.append("index names saved as text")
    return frame, notes


def _index_as_text(frame: Any) -> tuple[Any, bool]:
    """`frame` with every index level Parquet cannot hold as it is turned into text."""
    import pandas as pd

    levels = [frame.index.get_level_values(i) for i in range(frame.index.nlevels)]
    bad = [i for i, level in enumerate(levels) if not _column_ok(level)]
    if not bad:
        return frame, False
    for i in bad:
        levels[i] = pd.Index([_text(v) for v in levels[i]], dtype=object, name=levels[i].name)
    index = levels[0] if len(levels) == 1 else pd.MultiIndex.from_arrays(levels, names=frame.index.names)
    return frame.set_axis(index, axis=0), True


def _frame_to_table(frame: Any) -> tuple[Any, list[str], bool]:
    """An Arrow table of `frame`; columns (and index levels) Parquet cannot hold as they are
    become text. Returns (table, labels of the columns saved as text, whether the index was)."""
    import warnings

    import pyarrow as pa

    with warnings.catch_warnings():  # e.g. "column names of mixed type": not the student's concern
        warnings.simplefilter("ignore")
        return _frame_to_table_quiet(frame, pa)


def _frame_to_table_quiet(frame: Any, pa: Any) -> tuple[Any, list[str], bool]:
    # A frame of no columns would lose its rows (Parquet counts rows by column): keep its index as one.
    keep = True if frame.shape[1] == 0 else None
    try:
        table = pa.Table.from_pandas(frame, preserve_index=keep, nthreads=1)
        if all(_is_flat(f.type) for f in table.schema):
            return table, [], False
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass
    converted = []
    frame = frame.copy(deep=False)
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if not _column_ok(col):
            frame.isetitem(j, [_text(v) for v in col])
            frame.isetitem(j, frame.iloc[:, j].astype(object))
            converted.append(frame.columns[j])
    frame, index_text = _index_as_text(frame)
    table = pa.Table.from_pandas(frame, preserve_index=keep, nthreads=1)
    if not all(_is_flat(f.type) for f in table.schema):
        raise Unsupported("unstorable")
    return table, converted, index_text


def _write_parquet(value: Any, path: Path) -> tuple[str, dict[str, Any]]:
    import pandas as pd
    import pyarrow.parquet as pq

    extra: dict[str, Any] = {}
    if isinstance(value, pd.DataFrame):
        frame, kind = value, "dataframe"
    else:
        if isinstance(value, pd.Series):
            kind, series = "series", pd.Series(value, copy=False)
        elif isinstance(value, pd.Index):
            kind, series = "index", pd.Series(value, index=pd.RangeIndex(len(value)), copy=False)
        else:  # a pandas ExtensionArray (ArrowStringArray, Categorical, DatetimeArray...)
            kind, series = "array", pd.Series(value, copy=False)
        if kind != "array":
            name = value.name
            if name is not None and not isinstance(name, (str, int, float)):
                name = str(name)[:200]
            extra["name"] = _encode(name) if name is not None else None
        frame = series.to_frame(name=_SERIES_COLUMN)
    if frame.shape[1] > MAX_COLUMNS:
        raise Unsupported("too_wide", columns=int(frame.shape[1]))
    if frame.shape[0] * max(frame.shape[1], 1) > MAX_CELLS:
        raise Unsupported("too_large")
    frame, notes = _plain_frame(frame)
    table, converted, index_text = _frame_to_table(frame)
    if table.nbytes > MAX_VALUE_BYTES:
        raise Unsupported("too_large")
    if converted:
        if kind == "dataframe":
            labels = [str(c) for c in converted]
            extra["text_columns"] = labels
            notes.insert(0, f"saved as text (values of mixed or nested types): {', '.join(labels)}")
        else:
            extra["text_columns"] = [_SERIES_COLUMN]
            notes.insert(0, "values saved as text (values of mixed or nested types)")
    if index_text:
        notes.append("index saved as text (values of mixed or nested types)")
    if notes:
        extra["note"] = "; ".join(notes)
    # No column statistics: nothing reads them, and for long text columns they are a fifth of the write.
    pq.write_table(table, path, compression="none", write_statistics=False)
    return kind, extra


def _is_pandas_value(value: Any) -> bool:
    """A frame, Series, single-level Index or pandas array (subclasses too): saved as Parquet."""
    if "pandas" not in sys.modules:
        return False
    import pandas as pd

    return isinstance(value, (pd.DataFrame, pd.Series, pd.api.extensions.ExtensionArray)) or (
        isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex))


def _save(value: Any, folder: Path, i: int) -> dict[str, Any]:
    """Write one value; returns its manifest entry (without "type")."""
    if _is_pandas_value(value):
        import pandas as pd

        fname = f"v{i}.parquet"
        try:
            kind, extra = _write_parquet(value, folder / fname)
            return {"kind": kind, "file": fname, **extra}
        except Exception:
            (folder / fname).unlink(missing_ok=True)
            if isinstance(value, (pd.DataFrame, pd.Series)):
                raise
            # an array or Index Parquet cannot hold: its values, as JSON below
    data = json.dumps(_encode(value), allow_nan=False)
    if len(data) > MAX_JSON_BYTES:
        raise Unsupported("too_large")
    fname = f"v{i}.json"
    (folder / fname).write_text(data, encoding="utf-8")
    return {"kind": "json", "file": fname}


def write_snapshot(namespace: dict[str, Any], names: list[str], folder: str | os.PathLike[str], cell: int,
                   previous: tuple[str | os.PathLike[str], dict[str, Any]] | None = None,
                   reuse: frozenset[str] = frozenset()) -> dict[str, Any]:
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
    entries: dict[str, dict[str, Any]] = {}
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
            entry.update(_save(value, tmp, i))
        except Exception as exc:  # unsupported or unwritable: say why, as a code
            if isinstance(exc, Unsupported):
                why, detail = exc.why, exc.detail
            elif isinstance(exc, MemoryError) or getattr(exc, "errno", None) == errno.EFBIG \
                    or "File too large" in str(exc):  # Arrow reports EFBIG in words only
                why, detail = "too_large", {}
            elif isinstance(exc, RecursionError):
                why, detail = "nested", {}
            else:
                why, detail = "error", {"error": type(exc).__name__}
            entry.update(kind="unsupported", why=why, **({"detail": detail} if detail else {}),
                         reason=f"{type(exc).__name__}: {exc}"[:300])
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
    v: Any = obj.get("v")
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
        _check_hashes(items)
        return set(items) if tag == "set" else frozenset(items)
    if tag == "dict":
        pairs = _items(v, depth, budget)
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise SnapshotError("bad dict value")
        keys = [_freeze(k) for k, _ in pairs]
        _check_hashes(keys)
        return dict(zip(keys, (x for _, x in pairs), strict=True))
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


MAX_EQUAL_HASHES = 64


def _check_hashes(items: list[Any]) -> None:
    """Refuse keys chosen to share a hash (numbers' hashes are predictable): building a set or
    dict of them takes time quadratic in their number."""
    if len(items) <= MAX_EQUAL_HASHES:
        return
    from collections import Counter

    try:
        worst = Counter(map(hash, items)).most_common(1)[0][1]
    except TypeError:
        raise SnapshotError("unhashable values in a set or dict") from None
    if worst > MAX_EQUAL_HASHES:
        raise SnapshotError(f"{worst} values of a set or dict share one hash")


def _str(v: Any) -> str:
    if not isinstance(v, str) or len(v) > 100:
        raise SnapshotError("bad date or time value")
    return v


def _items(v: Any, depth: int, budget: _Budget) -> list[Any]:
    if not isinstance(v, list):
        raise SnapshotError("tagged value without a list of items")
    return [_decode(x, depth + 1, budget) for x in v]


def _decode_ndarray(obj: dict[str, Any], depth: int, budget: _Budget) -> Any:
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


def _check_footer(path: Path, size: int) -> None:
    """Refuse a Parquet file whose metadata is too large to parse, before parsing it."""
    if size < 12:
        raise SnapshotError(f"{path.name}: not a Parquet file")
    with open(path, "rb") as f:
        f.seek(size - 8)
        tail = f.read(8)
    if tail[4:] != b"PAR1":
        raise SnapshotError(f"{path.name}: not a Parquet file")
    footer = int.from_bytes(tail[:4], "little")
    if footer > MAX_FOOTER_BYTES or footer + 12 > size:
        raise SnapshotError(f"{path.name}: metadata of {footer} bytes (limit {MAX_FOOTER_BYTES})")


def _read_parquet(path: Path) -> Any:
    """A Parquet file as a DataFrame, refusing anything that would expand past MAX_VALUE_BYTES.

    The file's metadata is checked first (size on disk and of the metadata, no compression,
    flat columns of plain types, columns, rows x columns); text columns are then read as
    dictionaries, so a value repeated by the encoding is held once, and the size they expand
    to is computed before they are decoded. The frame is then built from the columns and the
    few labels the pandas metadata may give (see _frame_from_table), never by pyarrow's own
    reading of that metadata.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    size = path.stat().st_size
    if size > MAX_VALUE_BYTES:
        raise SnapshotError(f"{path.name} is {size} bytes (limit {MAX_VALUE_BYTES})")
    _check_footer(path, size)
    pf = pq.ParquetFile(path, thrift_string_size_limit=MAX_FOOTER_BYTES)
    meta, schema = pf.metadata, pf.schema_arrow
    if meta.num_columns > MAX_COLUMNS + MAX_INDEX_LEVELS:
        raise SnapshotError(f"{path.name} holds {meta.num_columns} columns (limit {MAX_COLUMNS})")
    odd = [f.name for f in schema if not _is_flat(f.type)]
    if odd:
        raise SnapshotError(f"{path.name}: columns of unsupported types ({', '.join(map(str, odd[:5]))})")
    if meta.num_row_groups > MAX_ROW_GROUPS:
        raise SnapshotError(f"{path.name} holds {meta.num_row_groups} row groups (limit {MAX_ROW_GROUPS})")
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
    for f in schema:
        _check_tz(f.type, path.name)
    table = pq.ParquetFile(path, read_dictionary=text, thrift_string_size_limit=MAX_FOOTER_BYTES).read(use_threads=False)
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
    return _frame_from_table(table, schema, path.name)


# Time zones as Arrow names them: UTC, a fixed offset, or an IANA name.
_TZ = re.compile(r"UTC|[+-]\d{2}:\d{2}|[A-Za-z][A-Za-z0-9_+-]{0,30}(/[A-Za-z0-9_+-]{1,30}){0,3}")


def _check_tz(t: Any, fname: str) -> None:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_timestamp(t) and t.tz is not None and not _TZ.fullmatch(t.tz):
        raise SnapshotError(f"{fname}: a time zone that is not one ({t.tz[:40]!r})")


# pandas dtypes a column may be given back (by name, from the pandas metadata); any other
# column gets the type pyarrow gives its Arrow type.
_EXT_DTYPE = re.compile(r"U?Int(8|16|32|64)|Float(32|64)|boolean|string|str|[a-z0-9_\[\], :=/+-]{1,80}\[pyarrow\]")


def _ext_dtype(name: Any, arrow_type: Any) -> Any:
    import pandas as pd

    if not isinstance(name, str) or not _EXT_DTYPE.fullmatch(name):
        return None
    try:
        dtype = pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError):
        return None
    if isinstance(dtype, pd.ArrowDtype):
        return dtype if dtype.pyarrow_dtype == arrow_type else None
    masked = (pd.Int8Dtype, pd.Int16Dtype, pd.Int32Dtype, pd.Int64Dtype, pd.UInt8Dtype, pd.UInt16Dtype,
              pd.UInt32Dtype, pd.UInt64Dtype, pd.Float32Dtype, pd.Float64Dtype, pd.BooleanDtype, pd.StringDtype)
    return dtype if isinstance(dtype, masked) else None


_INT_DTYPE = re.compile(r"u?int(8|16|32|64)")


def _label(x: Any, *, none_ok: bool) -> Any:
    """A column label or index name from the metadata: str or int (or None for names)."""
    if x is None and none_ok:
        return None
    if isinstance(x, str) and len(x) <= MAX_LABEL_CHARS:
        return x
    if type(x) is int and -(2**63) <= x < 2**63:
        return x
    raise SnapshotError("labels must be text or integers")


def _pandas_layout(schema: Any, fname: str) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any]], Any, Any]:
    """From the pandas metadata of `schema`, checked as data: ([(field, label, pandas dtype)] of
    the columns, index fields, a RangeIndex description or None, the name of the columns)."""
    raw = (schema.metadata or {}).get(b"pandas")
    fields = list(schema.names)
    if raw is None:  # a plain Arrow table: its field names, a RangeIndex
        return [(f, f, None) for f in fields], [], None, None
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SnapshotError(f"{fname}: pandas metadata that is not JSON") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("columns"), list) \
            or not isinstance(meta.get("index_columns"), list) or not isinstance(meta.get("column_indexes", []), list):
        raise SnapshotError(f"{fname}: pandas metadata of an unknown layout")
    if len(meta.get("column_indexes", [])) > 1:
        raise SnapshotError(f"{fname}: MultiIndex columns are not supported")
    colname, int_labels = None, False
    for ci in meta.get("column_indexes", []):
        if not isinstance(ci, dict):
            raise SnapshotError(f"{fname}: pandas metadata of an unknown layout")
        colname = _label(ci.get("name"), none_ok=True)
        int_labels = isinstance(ci.get("numpy_type"), str) and bool(_INT_DTYPE.fullmatch(ci["numpy_type"]))
    described: dict[str, tuple[Any, Any]] = {}
    for c in meta["columns"]:
        if not isinstance(c, dict) or not isinstance(c.get("field_name"), str) or c["field_name"] in described:
            raise SnapshotError(f"{fname}: pandas metadata of an unknown layout")
        described[c["field_name"]] = (c.get("name"), c.get("numpy_type"))
    if set(described) != set(fields):
        raise SnapshotError(f"{fname}: pandas metadata that does not match the columns")
    index_fields: list[str] = []
    rng = None
    index = meta["index_columns"]
    if len(index) > MAX_INDEX_LEVELS:
        raise SnapshotError(f"{fname}: more than {MAX_INDEX_LEVELS} index levels")
    for d in index:
        if isinstance(d, str) and d in described and d not in index_fields:
            index_fields.append(d)
        elif isinstance(d, dict) and d.get("kind") == "range" and len(index) == 1 \
                and all(type(d.get(k)) is int for k in ("start", "stop", "step")) and d["step"] != 0:
            rng = (d["start"], d["stop"], d["step"], _label(d.get("name"), none_ok=True))
        else:
            raise SnapshotError(f"{fname}: an index of an unknown layout")
    columns = []
    for i, f in enumerate(fields):
        if f in index_fields:
            continue
        name, numpy_type = described[f]
        label = _label(name, none_ok=False)
        if int_labels:  # Parquet keeps labels as text; these were integers
            if not isinstance(label, str) or not re.fullmatch(r"-?\d{1,19}", label):
                raise SnapshotError(f"{fname}: integer column labels that are not integers")
            label = int(label)
        columns.append((f, label, _ext_dtype(numpy_type, schema.field(i).type)))
    labels = [c[1] for c in columns]
    if len(set(map(repr, labels))) != len(labels):
        raise SnapshotError(f"{fname}: duplicate column names")
    names = [_label(described[f][0], none_ok=True) for f in index_fields]
    return columns, list(zip(index_fields, names, strict=True)), rng, colname


def _frame_from_table(table: Any, schema: Any, fname: str) -> Any:
    """The DataFrame of an Arrow table: one column per field, typed by pyarrow from its Arrow
    type (or as one of a few pandas dtypes the metadata names), labelled as the metadata says."""
    import pandas as pd

    columns, index_fields, rng, colname = _pandas_layout(schema, fname)

    def values(field: str, dtype: Any = None) -> Any:
        col = table.column(field)
        if dtype is not None:
            return dtype.__from_arrow__(col)
        return col.to_pandas().array

    n = table.num_rows
    index: Any
    if rng is not None:
        index = pd.RangeIndex(rng[0], rng[1], rng[2], name=rng[3])
        if len(index) != n:
            raise SnapshotError(f"{fname}: an index of {len(index)} rows for {n} rows")
    elif index_fields:
        levels = [pd.Index(values(f), name=name) for f, name in index_fields]
        index = levels[0] if len(levels) == 1 else pd.MultiIndex.from_arrays(levels, names=[x for _, x in index_fields])
    else:
        index = pd.RangeIndex(n)
    data = {i: values(f, dtype) for i, (f, _, dtype) in enumerate(columns)}
    frame = pd.DataFrame(data, index=index, copy=False) if data else pd.DataFrame(index=index)
    return frame.set_axis(pd.Index([label for _, label, _ in columns], name=colname, tupleize_cols=False), axis=1)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
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


def _series_of(frame: Any, entry: dict[str, Any]) -> Any:
    if _SERIES_COLUMN not in frame.columns:
        raise SnapshotError(f"no {_SERIES_COLUMN} column")
    series = frame[_SERIES_COLUMN]
    raw = entry.get("name")
    name = _decode(raw) if raw is not None else None
    if not (name is None or isinstance(name, (int, float)) or (isinstance(name, str) and len(name) <= MAX_LABEL_CHARS)):
        raise SnapshotError("a name that is not text or a number")
    series.name = name
    return series


# Why a variable could not be saved, by the code the writer records (see Unsupported); the
# writer runs beside the submission, so only codes and checked details come from it.
WHY = {
    "multiindex_columns": "MultiIndex columns are not supported; flatten them, for example "
                          "df.columns = ['_'.join(map(str, c)) for c in df.columns]",
    "duplicate_columns": "duplicate column names are not supported ({labels}); rename them",
    "too_wide": "it has more than {max_columns} columns",
    "too_large": "it is too large to save",
    "nested": "it is nested more than {max_depth} levels deep",
    "type": "values of type {type} cannot be saved",
    "array": "only one-dimensional numpy arrays of plain values can be saved (this one: shape {shape}, dtype {dtype})",
    "unstorable": "its values cannot be saved, even as text",
    "error": "saving it failed ({error})",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,59}")
_DTYPE_NAME = re.compile(r"[A-Za-z0-9_\[\], ]{1,40}")


def _why(entry: dict[str, Any]) -> str:
    """The words for an unsupported entry, built here from its code and checked details."""
    why, detail = entry.get("why"), entry.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    if not isinstance(why, str) or why not in WHY:
        return "could not be saved"
    words: dict[str, str] = {}
    labels = detail.get("labels")
    if isinstance(labels, list):
        words["labels"] = ", ".join(repr(str(x)[:40]) for x in labels[:5])
    for key, pattern in (("type", _NAME), ("error", _NAME), ("dtype", _DTYPE_NAME)):
        v = detail.get(key)
        words[key] = v if isinstance(v, str) and pattern.fullmatch(v) else "unknown"
    shape = detail.get("shape")
    words["shape"] = (str(tuple(shape)) if isinstance(shape, list) and len(shape) <= 8
                      and all(type(x) is int for x in shape) else "unknown")
    words.setdefault("labels", "")
    words.update(max_columns=str(MAX_COLUMNS), max_depth=str(MAX_JSON_DEPTH))
    return "could not be saved: " + WHY[why].format(**words)


_FILE = re.compile(r"v\d{1,6}\.(json|parquet)")


def parquet_rows(path: Path) -> int:
    """The rows a snapshot's Parquet file declares, from its checked metadata alone (nothing
    is decoded: a few hundred KiB of delta-encoded integers can declare millions of rows)."""
    import pyarrow.parquet as pq

    size = path.stat().st_size
    if size > MAX_VALUE_BYTES:
        raise SnapshotError(f"{path.name} is {size} bytes (limit {MAX_VALUE_BYTES})")
    _check_footer(path, size)
    return int(pq.ParquetFile(path, thrift_string_size_limit=MAX_FOOTER_BYTES).metadata.num_rows)


def load_snapshot_with_problems(path: str | os.PathLike[str], only: Collection[str] | None = None, *,
                                max_file_bytes: int | None = None,
                                max_rows: int | None = None) -> tuple[dict[str, object], dict[str, str]]:
    """Load a snapshot (only the variables named in `only`, when given); return
    (values, {name: why it is missing}) for unsupported or bad entries. With `max_file_bytes`,
    a value whose file is larger is left out (with that reason), unread; with `max_rows`, so is
    a frame, series or array whose file declares more rows.

    Raises MemoryError when a value does not fit in memory: the caller decides what that costs.
    """
    path = Path(path)
    manifest = read_manifest(path)
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    files: set[str] = set()
    for name, entry in manifest["variables"].items():
        if not isinstance(name, str) or not isinstance(entry, dict) or (only is not None and name not in only):
            continue
        kind = entry.get("kind")
        fname = entry.get("file")
        try:
            if kind == "unsupported":
                problems[name] = _why(entry)
                continue
            if not isinstance(fname, str) or not _FILE.fullmatch(fname):
                raise SnapshotError("bad file name in manifest")
            if fname in files:
                raise SnapshotError("a file the manifest names twice")
            files.add(fname)
            fpath = path / fname
            if max_file_bytes is not None and fpath.lstat().st_size > max_file_bytes:
                problems[name] = f"is too large to load here ({fpath.lstat().st_size} bytes saved)"
                continue
            if max_rows is not None and kind in ("dataframe", "series", "index", "array"):
                rows = parquet_rows(fpath)
                if rows > max_rows:
                    problems[name] = f"is too large to describe here ({rows} rows; limit {max_rows})"
                    continue
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
        except MemoryError:
            raise
        except Exception as exc:
            problems[name] = f"could not be loaded ({type(exc).__name__}: {exc})"[:300]
    return values, problems


def load_snapshot(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a snapshot folder into {variable name: value}. Never unpickles anything."""
    values, _ = load_snapshot_with_problems(path)
    return values
