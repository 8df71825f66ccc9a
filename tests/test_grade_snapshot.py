"""Answer snapshots: every answer type students plausibly use survives the round trip, a frame with
an awkward extra column keeps its answer columns, and forged snapshot files are refused without
being built in memory (the files come from the sandbox that ran the submission's code)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ctlab.grading import snapshot

REPO = Path(__file__).resolve().parents[1]
CSV = "event_id,timestamp,user,n\ne1,2026-02-28T01:57:41Z,alice,1\ne2,2026-02-28T02:57:41Z,bob,\n"


def _round_trip(tmp_path, value, name="x"):
    manifest = snapshot.write_snapshot({name: value}, [name], tmp_path / "snap", 1)
    values, problems = snapshot.load_snapshot_with_problems(tmp_path / "snap")
    assert problems == {}
    return manifest["variables"][name], values[name]


def _frame():
    df = pd.read_csv(io.StringIO(CSV))
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


# ---------------------------------------------------------------- round trips

def test_unique_of_a_string_column_is_an_arrow_string_array(tmp_path):
    actors = _frame()["user"].unique()
    assert type(actors).__name__ == "ArrowStringArray"  # what pandas 3 returns, not a list
    entry, got = _round_trip(tmp_path, actors)
    assert entry["kind"] == "array"
    assert type(got).__name__ == "ArrowStringArray" and list(got) == ["alice", "bob"]


def test_pyarrow_backed_answers(tmp_path):
    df = pd.read_csv(io.StringIO(CSV), dtype_backend="pyarrow")
    actors = df["user"].unique()
    assert type(actors).__name__ == "ArrowExtensionArray"
    _, got = _round_trip(tmp_path, actors)
    assert list(got) == ["alice", "bob"] and all(isinstance(v, str) for v in got)
    _, frame = _round_trip(tmp_path, df, "frame")
    assert frame["n"].dtype == df["n"].dtype == "int64[pyarrow]"
    # pyarrow's reader names Arrow-backed strings "string": same values, same missing marker
    pd.testing.assert_frame_equal(frame, df, check_dtype=False)
    assert frame["user"].tolist() == ["alice", "bob"]


def test_categorical_answers(tmp_path):
    cat = _frame()["user"].astype("category")
    entry, got = _round_trip(tmp_path, cat.unique())
    assert isinstance(got, pd.Categorical) and list(got) == ["alice", "bob"]
    _, series = _round_trip(tmp_path, cat, "s")
    pd.testing.assert_series_equal(series, cat)


@pytest.mark.parametrize("index", [pd.Index(["alice", "bob"], name="user"), pd.Index(["alice", "bob"]),
                                   pd.DatetimeIndex(["2026-02-28T01:57:41"], tz="UTC"), pd.RangeIndex(3)])
def test_index_answers(tmp_path, index):
    entry, got = _round_trip(tmp_path, index)
    assert entry["kind"] == "index"
    pd.testing.assert_index_equal(got, index, exact=False)
    assert got.name == index.name


def test_multiindex_is_saved_as_tuples(tmp_path):
    mi = pd.MultiIndex.from_tuples([("alice", 1), ("bob", 2)])
    entry, got = _round_trip(tmp_path, mi)
    assert entry["kind"] == "json" and list(got) == [("alice", 1), ("bob", 2)]


@pytest.mark.parametrize("arr", [np.array(["alice", "bob"]), np.array(["alice", None], dtype=object),
                                 np.array([b"x"], dtype=object)[:0]])
def test_numpy_text_arrays_come_back_as_object_arrays(tmp_path, arr):
    _, got = _round_trip(tmp_path, arr)
    assert isinstance(got, np.ndarray) and got.dtype == object and got.tolist() == arr.tolist()


@pytest.mark.parametrize("arr", [np.array([1, 2], dtype=np.int32), np.array([True, False]),
                                 np.array([1.5, np.nan]), np.array([1 + 2j]), np.array([7], dtype=np.uint8),
                                 np.array(["2026-02-28T01:57:41.123456", "NaT"], dtype="datetime64[us]"),
                                 np.array([1500, -1], dtype="timedelta64[ms]")])
def test_numpy_arrays_keep_their_dtype(tmp_path, arr):
    _, got = _round_trip(tmp_path, arr)
    assert got.dtype == arr.dtype
    np.testing.assert_array_equal(got, arr)


def test_numpy_object_array_holding_lists_stays_one_dimensional(tmp_path):
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = ["a", "b"], ["c", "d"]
    _, got = _round_trip(tmp_path, arr)
    assert got.shape == (2,) and got[0] == ["a", "b"]


@pytest.mark.parametrize("unit", ["us", "ms", "ns", "s"])
def test_tz_aware_datetimes_keep_their_resolution(tmp_path, unit):
    ts = pd.to_datetime(["2026-02-28T01:57:41.123Z", None], utc=True).as_unit(unit)
    df = pd.DataFrame({"event_id": ["e1", "e2"], "timestamp": ts})
    df["hour"] = df["timestamp"].dt.hour
    _, got = _round_trip(tmp_path, df)
    kept = "ms" if unit == "s" else unit  # Parquet has no seconds unit: same instants, in ms
    assert str(got["timestamp"].dtype) == f"datetime64[{kept}, UTC]"
    pd.testing.assert_frame_equal(got.assign(timestamp=got["timestamp"].dt.as_unit(unit)), df)
    _, arr = _round_trip(tmp_path, df["timestamp"].unique(), "u")
    assert str(arr.dtype) == f"datetime64[{kept}, UTC]" and arr[0] == ts[0] and arr[1] is pd.NaT


def test_series_of_str_dtype_and_nullable_ints(tmp_path):
    s = pd.Series(["alice", None], name="user", dtype="str")
    _, got = _round_trip(tmp_path, s)
    pd.testing.assert_series_equal(got, s)
    ints = pd.array([1, None], dtype="Int64")
    _, got = _round_trip(tmp_path, ints, "i")
    assert str(got.dtype) == "Int64" and got[0] == 1 and got[1] is pd.NA


def test_frame_with_integer_column_names_and_a_named_index(tmp_path):
    df = pd.DataFrame({0: ["a", "b"], 1: [1, 2]}, index=pd.Index(["e1", "e2"], name="event_id"))
    _, got = _round_trip(tmp_path, df)
    pd.testing.assert_frame_equal(got, df)


@pytest.mark.parametrize("value", [{"alice", "bob"}, frozenset({"T1078"}), ("T1078", "T1098"), ["a", ("b", 1)],
                                   {"user": "alice", "n": 3}, {("a", 1): [1.5]}, {"__t": "not a tag"},
                                   10.65, float("inf"), None, "T1078", np.int64(3), pd.Timestamp("2026-02-28", tz="UTC"),
                                   pd.Timedelta(minutes=10), pd.NaT])
def test_plain_values(tmp_path, value):
    entry, got = _round_trip(tmp_path, value)
    assert entry["kind"] == "json"
    assert type(got) is (int if isinstance(value, np.integer) else type(value)) and (got == value or got is value)


def test_array_inside_a_list_is_saved_as_its_values(tmp_path):
    _, got = _round_trip(tmp_path, [_frame()["user"].unique()])
    assert got[0].tolist() == ["alice", "bob"]


# ---------------------------------------------------------------- mixed columns

def test_mixed_extra_columns_are_saved_as_text_and_the_answer_columns_stay(tmp_path):
    df = _frame()
    df["when"] = df["timestamp"].astype(object)
    df.loc[1, "when"] = "unknown"
    df["meta"] = [{"n": 1}, "none"]
    df["tags"] = [["a", "b"], None]
    entry, got = _round_trip(tmp_path, df)
    assert entry["text_columns"] == ["when", "meta", "tags"]
    assert entry["note"] == "saved as text (values of mixed or nested types): when, meta, tags"
    pd.testing.assert_frame_equal(got[["event_id", "timestamp", "user", "n"]], df[["event_id", "timestamp", "user", "n"]])
    assert got["when"].tolist() == ["2026-02-28 01:57:41+00:00", "unknown"]
    assert got["meta"].tolist() == ["{'n': 1}", "none"]
    assert got["tags"].iloc[0] == "['a', 'b']" and pd.isna(got["tags"].iloc[1])


def test_plain_frame_has_no_note(tmp_path):
    entry, _ = _round_trip(tmp_path, _frame())
    assert "note" not in entry and "text_columns" not in entry


def test_mixed_series_is_saved_as_text(tmp_path):
    s = pd.Series([1, "a", None], name="mixed")
    entry, got = _round_trip(tmp_path, s)
    assert entry["note"] == "values saved as text (values of mixed or nested types)"
    assert got.tolist()[:2] == ["1", "a"] and pd.isna(got.iloc[2]) and got.name == "mixed"


def test_frame_that_cannot_be_saved_even_as_text_says_why(tmp_path):
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    manifest = snapshot.write_snapshot({"df": df, "ok": [1]}, ["df", "ok"], tmp_path / "snap", 1)
    assert manifest["variables"]["df"]["kind"] == "unsupported"
    values, problems = snapshot.load_snapshot_with_problems(tmp_path / "snap")
    assert values == {"ok": [1]}
    assert problems["df"] == "could not be saved: duplicate column names are not supported ('a'); rename them"


# ---------------------------------------------------------------- forged snapshots

def _forge(tmp_path, entry: dict, name="x", payload: bytes | None = None, fname="v0.json") -> Path:
    snap = tmp_path / "forged"
    snap.mkdir(exist_ok=True)
    if payload is not None:
        (snap / fname).write_bytes(payload)
    (snap / "manifest.json").write_text(json.dumps({"format": 1, "cell": 1, "variables": {name: entry}}))
    return snap


def _forged_json(tmp_path, obj) -> tuple[dict, dict]:
    snap = _forge(tmp_path, {"kind": "json", "file": "v0.json"}, payload=json.dumps(obj).encode())
    return snapshot.load_snapshot_with_problems(snap)


def test_huge_string_dtype_is_loaded_as_objects_without_allocating(tmp_path):
    # the 72-byte snapshot that once made the grader allocate 1 GB
    tracemalloc.start()
    try:
        values, problems = _forged_json(tmp_path, {"__t": "ndarray", "dtype": "U50000000", "v": ["a", "b", "c", "d", "e"]})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problems == {} and values["x"].dtype == object and values["x"].tolist() == ["a", "b", "c", "d", "e"]
    assert peak < 5_000_000


@pytest.mark.parametrize("dtype", ["V1000000000", "(1000000000,)float64", "float64,(1000000000,)int8", "M8",
                                   "datetime64[2000000000s]", "O,O"])
def test_dtypes_outside_the_list_are_refused(tmp_path, dtype):
    tracemalloc.start()
    try:
        values, problems = _forged_json(tmp_path, {"__t": "ndarray", "dtype": dtype, "v": [1]})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert values == {}
    assert problems["x"] == f"could not be loaded (SnapshotError: array dtype {dtype!r} is not allowed)"
    assert peak < 5_000_000


@pytest.mark.parametrize("obj, message", [
    ({"__t": "ndarray", "dtype": "int64", "v": ["x"]}, "bad int64 array"),
    ({"__t": "ndarray", "dtype": "int8", "v": [100000]}, "bad int8 array"),
    ({"__t": "ndarray", "dtype": "datetime64[ns]", "i8": [1.5]}, "bad datetime64[ns] array"),
    ({"__t": "ndarray", "dtype": "datetime64[ns]", "v": [1]}, "bad datetime64[ns] array"),
    ({"__t": "tuple", "v": 5}, "tagged value without a list of items"),
    ({"__t": "dict", "v": [[1]]}, "bad dict value"),
    ({"__t": "complex", "v": ["a", 1]}, "bad complex value"),
    ({"__t": "Timestamp", "v": "2026" * 100}, "bad date or time value"),
    ({"__t": "pickle", "v": "gASV"}, "unknown tag 'pickle'"),
])
def test_malformed_tagged_values_are_refused(tmp_path, obj, message):
    values, problems = _forged_json(tmp_path, obj)
    assert values == {} and problems["x"] == f"could not be loaded (SnapshotError: {message})"


def test_json_nesting_is_bounded(tmp_path):
    deep = 60
    values, problems = _forged_json(tmp_path, json.loads("[" * deep + "]" * deep))
    assert problems["x"] == "could not be loaded (SnapshotError: nested too deeply)"
    snap = _forge(tmp_path, {"kind": "json", "file": "v0.json"}, payload=b"[" * 1_000_000 + b"]" * 1_000_000)
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert values == {} and problems["x"] == "could not be loaded (SnapshotError: v0.json: nested too deeply)"
    ok = json.loads("[" * 40 + "]" * 40)
    assert _forged_json(tmp_path, ok)[0]["x"] == ok


def test_json_file_size_is_bounded_before_reading(tmp_path):
    n = snapshot.MAX_JSON_BYTES + 1
    snap = _forge(tmp_path, {"kind": "json", "file": "v0.json"}, payload=b"")
    with open(snap / "v0.json", "wb") as f:
        f.truncate(n)  # sparse: nothing is written, nothing may be read
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert problems["x"] == f"could not be loaded (SnapshotError: v0.json is {n} bytes (limit {snapshot.MAX_JSON_BYTES}))"


def test_decoded_json_size_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_VALUE_BYTES", 100_000)
    values, problems = _forged_json(tmp_path, ["x" * 1000] * 200)
    assert values == {}
    assert problems["x"] == "could not be loaded (SnapshotError: value too large once decoded (limit 100000 bytes))"
    values, problems = _forged_json(tmp_path, ["x" * 1000] * 50)
    assert problems == {} and len(values["x"]) == 50


def _forged_parquet(tmp_path, write) -> tuple[dict, dict]:
    snap = _forge(tmp_path, {"kind": "dataframe", "file": "v0.parquet"})
    write(snap / "v0.parquet")
    return snapshot.load_snapshot_with_problems(snap)


def test_parquet_larger_than_the_cap_on_disk_is_not_read(tmp_path, monkeypatch):
    n = snapshot.MAX_VALUE_BYTES + 1

    def write(p):
        with open(p, "wb") as f:
            f.truncate(n)

    opened: list[object] = []
    monkeypatch.setattr(pq, "ParquetFile", lambda *a, **k: opened.append(a))
    values, problems = _forged_parquet(tmp_path, write)
    assert problems["x"] == f"could not be loaded (SnapshotError: v0.parquet is {n} bytes (limit {snapshot.MAX_VALUE_BYTES}))"
    assert opened == []


def test_compressed_parquet_is_refused(tmp_path):
    values, problems = _forged_parquet(tmp_path, lambda p: pq.write_table(pa.table({"a": ["x"] * 10}), p, compression="zstd"))
    assert values == {}
    assert problems["x"] == "could not be loaded (SnapshotError: v0.parquet: compressed columns are not accepted)"


def test_parquet_cell_count_is_bounded(tmp_path):
    rows = snapshot.MAX_CELLS + 1
    values, problems = _forged_parquet(tmp_path, lambda p: pq.write_table(pa.table({"a": pa.nulls(rows)}), p, compression="none"))
    assert problems["x"] == f"could not be loaded (SnapshotError: v0.parquet holds {rows} cells (limit {snapshot.MAX_CELLS}))"


def test_nested_parquet_columns_are_refused(tmp_path):
    values, problems = _forged_parquet(tmp_path, lambda p: pq.write_table(pa.table({"l": [["a"]], "s": [{"k": 1}]}), p,
                                                                          compression="none"))
    assert problems["x"] == "could not be loaded (SnapshotError: v0.parquet: columns of unsupported types (l, s))"


def _dictionary_bomb(path, rows=300, width=1_000_000):
    """About 1 MB on disk: one 1 MB string, repeated `rows` times by the dictionary encoding,
    in a column the file's schema calls a plain string column."""
    indices = pa.array(np.zeros(rows, dtype=np.int32))
    col = pa.DictionaryArray.from_arrays(indices, pa.array(["x" * width]))
    pq.write_table(pa.table({"user": col}), path, compression="none", store_schema=False)


def test_repeated_dictionary_value_is_refused_before_it_is_expanded(tmp_path):
    values, problems = _forged_parquet(tmp_path, _dictionary_bomb)
    assert (tmp_path / "forged" / "v0.parquet").stat().st_size < 2_000_000
    assert values == {}
    assert problems["x"] == \
        f"could not be loaded (SnapshotError: v0.parquet expands to more than {snapshot.MAX_VALUE_BYTES} bytes)"


def test_forged_parquet_loads_stay_small_in_memory(tmp_path):
    """In a fresh process (so the peak is this load's own), Arrow's peak allocation stays small."""
    _dictionary_bomb(tmp_path / "bomb.parquet")
    pq.write_table(pa.table({"a": pa.nulls(snapshot.MAX_CELLS + 1)}), tmp_path / "rows.parquet", compression="none")
    code = textwrap.dedent(f"""
        import pyarrow as pa
        from pathlib import Path
        from ctlab.grading import snapshot
        for name in ("bomb.parquet", "rows.parquet"):
            try:
                snapshot._read_parquet(Path({str(tmp_path)!r}) / name)
                print("loaded", name)
            except snapshot.SnapshotError:
                pass
        print(pa.default_memory_pool().max_memory())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "loaded" not in out.stdout
    assert int(out.stdout.split()[-1]) < 20_000_000


def test_forged_series_without_its_column(tmp_path):
    snap = _forge(tmp_path, {"kind": "series", "file": "v0.parquet"})
    pq.write_table(pa.table({"other": [1]}), snap / "v0.parquet", compression="none")
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert problems["x"] == "could not be loaded (SnapshotError: no __series__ column)"


def test_unknown_kind(tmp_path):
    snap = _forge(tmp_path, {"kind": "pickle", "file": "v0.json"}, payload=b"\x80\x04")
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert problems["x"] == "could not be loaded (SnapshotError: unknown kind 'pickle')"
    snap = _forge(tmp_path, {"kind": "json", "file": "v0.pkl"}, payload=b"[]")
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert problems["x"] == "could not be loaded (SnapshotError: bad file name in manifest)"


# ---------------------------------------------------------------- awkward shapes (writer side)

def _saved(tmp_path, value, name="x"):
    """(manifest entry, loaded value or None, problem or None) of one value."""
    manifest = snapshot.write_snapshot({name: value}, [name], tmp_path / "snap", 1)
    values, problems = snapshot.load_snapshot_with_problems(tmp_path / "snap")
    return manifest["variables"][name], values.get(name), problems.get(name)


def test_multiindex_columns_are_refused_with_how_to_flatten(tmp_path):
    df = _frame()
    df.columns = pd.MultiIndex.from_tuples([(c, "v") for c in df.columns])
    entry, got, problem = _saved(tmp_path, df)
    assert (entry["kind"], entry["why"], got) == ("unsupported", "multiindex_columns", None)
    assert problem == ("could not be saved: MultiIndex columns are not supported; flatten them, for example "
                       "df.columns = ['_'.join(map(str, c)) for c in df.columns]")


@pytest.mark.parametrize("columns, shown", [(["a", "b", "a"], "'a'"), ([0, "0"], "'0'"),
                                            ([("a", 1), "x", "('a', 1)"], "\"('a', 1)\"")])
def test_duplicate_column_names_are_refused(tmp_path, columns, shown):
    df = pd.DataFrame([list(range(len(columns)))], columns=pd.Index(columns, dtype=object, tupleize_cols=False))
    entry, got, problem = _saved(tmp_path, df)
    assert got is None and problem == f"could not be saved: duplicate column names are not supported ({shown}); rename them"


def test_labels_other_than_text_or_integers_are_saved_as_text(tmp_path):
    df = _frame()
    for label in (None, ("a", "b"), 1.5, pd.Timestamp("2026-01-01"), True, 7):
        df[label] = 1
    entry, got, problem = _saved(tmp_path, df)
    assert problem is None
    assert entry["note"] == "column labels saved as text: nan, ('a', 'b'), 1.5, 2026-01-01 00:00:00, True"
    assert list(got.columns) == ["event_id", "timestamp", "user", "n", "nan", "('a', 'b')", "1.5",
                                 "2026-01-01 00:00:00", "True", "7"]
    pd.testing.assert_frame_equal(got.iloc[:, :4], _frame())


def test_integer_labels_and_names_round_trip(tmp_path):
    df = pd.DataFrame({3: ["a"], -1: [2]}, index=pd.Index(["e1"], name="event_id")).rename_axis("fields", axis=1)
    _, got, problem = _saved(tmp_path, df)
    assert problem is None
    pd.testing.assert_frame_equal(got, df)


def test_subclassed_frames_and_series_are_saved_as_plain_ones(tmp_path):
    class AuditFrame(pd.DataFrame):
        @property
        def _constructor(self):
            return AuditFrame

    df = AuditFrame(_frame())
    df.attrs["source"] = [1, 2, 3]
    entry, got, problem = _saved(tmp_path, df)
    assert (entry["type"], type(got), got.attrs, problem) == ("AuditFrame", pd.DataFrame, {}, None)
    pd.testing.assert_frame_equal(got, _frame())
    entry, got, problem = _saved(tmp_path, df["user"], "s")
    assert entry["kind"] == "series" and got.tolist() == ["alice", "bob"]


def test_zero_width_and_zero_row_frames_keep_their_shape(tmp_path):
    for df in (pd.DataFrame(index=range(5)), _frame()[[]], _frame().iloc[:0], pd.DataFrame()):
        _, got, problem = _saved(tmp_path, df)
        assert problem is None and got.shape == df.shape
        assert list(got.index) == list(df.index)


def test_multiindex_index_round_trips(tmp_path):
    df = _frame().set_index(["user", "event_id"])
    _, got, problem = _saved(tmp_path, df)
    assert problem is None
    pd.testing.assert_frame_equal(got, df)
    assert got.index.get_level_values("event_id").tolist() == ["e1", "e2"]


def test_index_of_unusual_values_is_saved_as_text(tmp_path):
    df = pd.DataFrame({"event_id": ["e1", "e2"]}, index=pd.period_range("2026-01", periods=2, freq="M"))
    entry, got, problem = _saved(tmp_path, df)
    assert problem is None and entry["note"] == "index saved as text (values of mixed or nested types)"
    assert got.index.tolist() == ["2026-01", "2026-02"] and got["event_id"].tolist() == ["e1", "e2"]


def test_unusual_dtypes_are_kept_or_saved_as_text(tmp_path):
    import decimal

    df = pd.DataFrame({"event_id": ["e1", "e2"]})
    df["interval"] = pd.arrays.IntervalArray.from_breaks([0, 1, 2])
    df["period"] = pd.period_range("2026-01-01", periods=2, freq="D")
    df["complex"] = [1j, 2]
    df["sparse"] = pd.arrays.SparseArray([0.0, 1.0])
    df["decimal"] = [decimal.Decimal("1.25"), None]
    df["half"] = np.zeros(2, dtype=np.float16)
    df["delta"] = pd.to_timedelta([1, 2], unit="s")
    df["nullable"] = pd.array([1, None], dtype="Int64")
    df["naive"] = pd.to_datetime(["2026-01-01", None])
    entry, got, problem = _saved(tmp_path, df)
    assert problem is None and entry["text_columns"] == ["interval", "period", "complex", "sparse"]
    assert got["interval"].tolist() == ["(0, 1]", "(1, 2]"] and got["complex"].tolist() == ["1j", "(2+0j)"]
    assert got["decimal"].tolist()[0] == decimal.Decimal("1.25") and str(got["nullable"].dtype) == "Int64"
    assert str(got["half"].dtype) == "float16" and str(got["delta"].dtype).startswith("timedelta64")
    assert str(got["naive"].dtype).startswith("datetime64") and got["naive"].dt.tz is None


def test_values_too_large_or_too_wide_are_refused_when_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_VALUE_BYTES", 10_000)
    _, got, problem = _saved(tmp_path, pd.DataFrame({"s": ["x" * 1000] * 20}))
    assert got is None and problem == "could not be saved: it is too large to save"
    monkeypatch.setattr(snapshot, "MAX_JSON_BYTES", 10_000)
    _, _, problem = _saved(tmp_path, ["x" * 1000] * 20)
    assert problem == "could not be saved: it is too large to save"
    monkeypatch.setattr(snapshot, "MAX_COLUMNS", 3)
    _, _, problem = _saved(tmp_path, pd.DataFrame([[1, 2, 3, 4]]))
    assert problem == "could not be saved: it has more than 3 columns"


def test_a_file_too_large_for_the_sandbox_is_reported_as_too_large(tmp_path, monkeypatch):
    import errno

    import pyarrow.parquet as pq_

    def full(*a, **k):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(pq_, "write_table", full)
    _, _, problem = _saved(tmp_path, _frame())
    assert problem == "could not be saved: it is too large to save"


@pytest.mark.parametrize("value, problem", [
    (json.loads("[" * 60 + "]" * 60), "could not be saved: it is nested more than 50 levels deep"),
    (np.zeros((2, 2)), "could not be saved: only one-dimensional numpy arrays of plain values can be saved "
                       "(this one: shape (2, 2), dtype float64)"),
    (..., "could not be saved: values of type ellipsis cannot be saved"),
    (lambda: 1, "could not be saved: values of type function cannot be saved"),
])
def test_unsupported_values_say_why(tmp_path, value, problem):
    assert _saved(tmp_path, value)[2] == problem


# ---------------------------------------------------------------- forged pandas metadata and reasons

def _forged_frame(tmp_path, change, table=None, kind="dataframe"):
    """A snapshot holding `table` (default: a small frame) whose pandas metadata `change` edits."""
    table = table if table is not None else pa.Table.from_pandas(_frame())
    meta = json.loads(table.schema.metadata[b"pandas"])
    change(meta)
    snap = _forge(tmp_path, {"kind": kind, "file": "v0.parquet"})
    pq.write_table(table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()}), snap / "v0.parquet",
                   compression="none")
    values, problems = snapshot.load_snapshot_with_problems(snap)
    return values.get("x"), problems.get("x")


def test_forged_attrs_are_not_loaded(tmp_path):
    got, problem = _forged_frame(tmp_path, lambda m: m.update(attributes={"x": [[i] for i in range(1000)]}))
    assert problem is None and got.attrs == {}
    pd.testing.assert_frame_equal(got, _frame())


def test_forged_second_column_level_is_refused_without_evaluating_names(tmp_path):
    table = pa.table({"(__import__('os').system('touch pwned'), 1)": [1], "((((((1))))))": [2]})
    table = table.replace_schema_metadata({b"pandas": json.dumps({
        "index_columns": [], "column_indexes": [{"name": None}, {"name": None}],
        "columns": [{"name": n, "field_name": n, "numpy_type": "int64"} for n in table.column_names]}).encode()})
    got, problem = _forged_frame(tmp_path, lambda m: None, table=table)
    assert got is None and problem == "could not be loaded (SnapshotError: v0.parquet: MultiIndex columns are not supported)"


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(columns="x"), "v0.parquet: pandas metadata of an unknown layout"),
    (lambda m: m["columns"].pop(), "v0.parquet: pandas metadata that does not match the columns"),
    (lambda m: m["columns"].append(dict(m["columns"][0])), "v0.parquet: pandas metadata of an unknown layout"),
    (lambda m: m.update(index_columns=[{"kind": "range", "start": 0, "stop": 10**18, "step": 1, "name": None}]),
     "v0.parquet: an index of 1000000000000000000 rows for 2 rows"),
    (lambda m: m.update(index_columns=[{"kind": "range", "start": 0, "stop": 2, "step": 0, "name": None}]),
     "v0.parquet: an index of an unknown layout"),
    (lambda m: m.update(index_columns=[{"kind": "eval", "code": "1"}]), "v0.parquet: an index of an unknown layout"),
    (lambda m: m.update(index_columns=["nope"]), "v0.parquet: an index of an unknown layout"),
    (lambda m: m["columns"][0].update(name=["a"]), "labels must be text or integers"),
    (lambda m: m["columns"][0].update(name=True), "labels must be text or integers"),
    (lambda m: m["columns"][0].update(name="x" * 5000), "labels must be text or integers"),
    (lambda m: m["columns"][0].update(name="user"), "v0.parquet: duplicate column names"),
    (lambda m: m["column_indexes"][0].update(numpy_type="int64"),
     "v0.parquet: integer column labels that are not integers"),
])
def test_forged_pandas_metadata_is_refused(tmp_path, change, message):
    got, problem = _forged_frame(tmp_path, change)
    assert got is None and problem == f"could not be loaded (SnapshotError: {message})"


def test_pandas_metadata_that_is_not_json_is_refused(tmp_path):
    snap = _forge(tmp_path, {"kind": "dataframe", "file": "v0.parquet"})
    pq.write_table(pa.table({"a": [1]}).replace_schema_metadata({b"pandas": b"[" * 100_000}), snap / "v0.parquet",
                   compression="none")
    assert snapshot.load_snapshot_with_problems(snap)[1]["x"] == \
        "could not be loaded (SnapshotError: v0.parquet: pandas metadata that is not JSON)"


@pytest.mark.parametrize("numpy_type", ["interval", "period[D]", "Sparse[int64, 0]", "category", "V1000000000",
                                        "object", "datetime64[ns, ../../etc/passwd]", "int8[pyarrow]"])
def test_forged_dtype_names_only_pick_from_a_short_list(tmp_path, numpy_type):
    def change(m):
        m["columns"][3]["numpy_type"] = numpy_type  # the "n" column: float64 in the file

    got, problem = _forged_frame(tmp_path, change)
    assert problem is None and str(got["n"].dtype) == "float64"


def test_plain_parquet_without_pandas_metadata_loads(tmp_path):
    snap = _forge(tmp_path, {"kind": "dataframe", "file": "v0.parquet"})
    pq.write_table(pa.table({"event_id": ["e1"], "n": [1]}), snap / "v0.parquet", compression="none")
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert problems == {} and values["x"].to_dict("list") == {"event_id": ["e1"], "n": [1]}


@pytest.mark.parametrize("tz", ["../../../etc/passwd", "UTC; rm -rf /", "x" * 200])
def test_forged_time_zones_are_refused(tmp_path, tz):
    snap = _forge(tmp_path, {"kind": "dataframe", "file": "v0.parquet"})
    pq.write_table(pa.table({"t": pa.array([1], pa.timestamp("us", tz=tz))}), snap / "v0.parquet", compression="none")
    problem = snapshot.load_snapshot_with_problems(snap)[1]["x"]
    assert problem == f"could not be loaded (SnapshotError: v0.parquet: a time zone that is not one ({tz[:40]!r}))"


def test_parquet_metadata_size_is_checked_before_it_is_parsed(tmp_path):
    snap = _forge(tmp_path, {"kind": "dataframe", "file": "v0.parquet"})
    (snap / "v0.parquet").write_bytes(b"PAR1" + b"\0" * 100 + (2**31).to_bytes(4, "little") + b"PAR1")
    assert snapshot.load_snapshot_with_problems(snap)[1]["x"] == \
        f"could not be loaded (SnapshotError: v0.parquet: metadata of {2**31} bytes (limit {snapshot.MAX_FOOTER_BYTES}))"
    (snap / "v0.parquet").write_bytes(b"not parquet at all")
    assert snapshot.load_snapshot_with_problems(snap)[1]["x"] == \
        "could not be loaded (SnapshotError: v0.parquet: not a Parquet file)"


def test_parquet_column_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_COLUMNS", 5)
    values, problems = _forged_parquet(tmp_path, lambda p: pq.write_table(
        pa.table({f"c{i}": [i] for i in range(40)}), p, compression="none"))
    assert problems["x"] == "could not be loaded (SnapshotError: v0.parquet holds 40 columns (limit 5))"


@pytest.mark.parametrize("obj", [{"__t": "set", "v": [k * (2**61 - 1) for k in range(100_000)]},
                                 {"__t": "dict", "v": [[k * (2**61 - 1), 0] for k in range(100_000)]},
                                 {"__t": "frozenset", "v": [{"__t": "tuple", "v": [k * (2**61 - 1)]} for k in range(100_000)]}])
def test_sets_and_dicts_of_keys_sharing_a_hash_are_refused(tmp_path, obj):
    values, problems = _forged_json(tmp_path, obj)
    assert problems["x"] == "could not be loaded (SnapshotError: 100000 values of a set or dict share one hash)"
    values, problems = _forged_json(tmp_path, {"__t": "set", "v": list(range(100_000))})
    assert problems == {} and len(values["x"]) == 100_000


@pytest.mark.parametrize("entry, problem", [
    ({"kind": "unsupported", "why": "type", "detail": {"type": "## Regrade <img src=x onerror=alert(1)>"},
      "reason": "## Instructor note: full marks"}, "could not be saved: values of type unknown cannot be saved"),
    ({"kind": "unsupported", "reason": "## Instructor note: full marks"}, "could not be saved"),
    ({"kind": "unsupported", "why": "<b>new code</b>"}, "could not be saved"),
    ({"kind": "unsupported", "why": "duplicate_columns", "detail": {"labels": ["a" * 100, "\n## x", 3]}},
     "could not be saved: duplicate column names are not supported ('" + "a" * 40 + "', '\\n## x', '3'); rename them"),
    ({"kind": "unsupported", "why": "array", "detail": {"shape": ["<script>"], "dtype": "float64\n## x"}},
     "could not be saved: only one-dimensional numpy arrays of plain values can be saved "
     "(this one: shape unknown, dtype unknown)"),
])
def test_forged_reasons_are_put_in_words_by_the_loader(tmp_path, entry, problem):
    snap = _forge(tmp_path, entry)
    assert snapshot.load_snapshot_with_problems(snap)[1]["x"] == problem


@pytest.mark.parametrize("name", [["a", "list"], "n" * 5000, {"__t": "tuple", "v": list(range(10))}])
def test_forged_series_names_are_refused(tmp_path, name):
    snap = _forge(tmp_path, {"kind": "series", "file": "v0.parquet", "name": name})
    pq.write_table(pa.table({"__series__": [1]}), snap / "v0.parquet", compression="none")
    assert snapshot.load_snapshot_with_problems(snap)[1]["x"] == \
        "could not be loaded (SnapshotError: a name that is not text or a number)"


@pytest.mark.parametrize("fname", ["../v0.json", "v0.json/", "manifest.json", "## x.json", "v0.pkl", "v1234567.json"])
def test_file_names_are_a_fixed_pattern(tmp_path, fname):
    snap = _forge(tmp_path, {"kind": "json", "file": fname})
    assert snapshot.load_snapshot_with_problems(snap)[1]["x"] == \
        "could not be loaded (SnapshotError: bad file name in manifest)"


def test_parquet_row_group_count_is_bounded(tmp_path):
    values, problems = _forged_parquet(tmp_path, lambda p: pq.write_table(
        pa.table({"a": list(range(1001))}), p, row_group_size=1, compression="none"))
    assert problems["x"] == "could not be loaded (SnapshotError: v0.parquet holds 1001 row groups (limit 1000))"


def test_a_file_named_by_two_variables_is_loaded_once(tmp_path):
    snap = tmp_path / "forged"
    snap.mkdir()
    (snap / "v0.json").write_text(json.dumps(["x"] * 1000))
    entries = {f"n{i}": {"kind": "json", "file": "v0.json"} for i in range(3)}
    (snap / "manifest.json").write_text(json.dumps({"format": 1, "cell": 1, "variables": entries}))
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert list(values) == ["n0"]
    assert problems == {f"n{i}": "could not be loaded (SnapshotError: a file the manifest names twice)" for i in (1, 2)}
    values, problems = snapshot.load_snapshot_with_problems(snap, only={"n2"})
    assert list(values) == ["n2"] and problems == {}


# ---------------------------------------------------------------- graded for real

VARIANTS_Q5_Q6 = {
    "unique_without_tolist": "actors = susp_iam['user'].unique()\n"
                             "related_api = cloud_api_df[cloud_api_df['user'].isin(actors)]\n"
                             "susp_users = susp_iam['user'].unique()",
    "index_answers": "actors = pd.Index(susp_iam['user'].unique(), name='user')\n"
                     "related_api = cloud_api_df[cloud_api_df['user'].isin(actors)]\n"
                     "susp_users = pd.Index(susp_iam['user'].unique())",
    "numpy_answers": "actors = np.array(susp_iam['user'].unique(), dtype=str)\n"
                     "related_api = cloud_api_df[cloud_api_df['user'].isin(actors)]\n"
                     "susp_users = susp_iam['user'].unique().to_numpy(dtype=object)\n"
                     "mitre_techniques = np.array(mitre_techniques)",
}
MIXED_COLUMNS = ("cloud_iam_df['when'] = cloud_iam_df['timestamp'].astype(object)\n"
                 "cloud_iam_df.loc[cloud_iam_df.index[:5], 'when'] = 'unknown'\n"
                 "cloud_api_df['meta'] = [{'n': i} if i % 2 else 'none' for i in range(len(cloud_api_df))]")


def _variant_notebooks(folder: Path) -> None:
    from make_corpus import HEAD, Q8, write_nb
    from reveal_answers import REVEAL

    q = dict(REVEAL)
    base = [q["q1"], q["q2"], q["q3"], q["q4"], q["q7"]]
    for name, code in VARIANTS_Q5_Q6.items():
        write_nb(folder / f"{name}.ipynb", HEAD + base + [code, Q8])
    pyarrow_load = q["q1"].replace(".csv')", ".csv', dtype_backend='pyarrow')")
    assert pyarrow_load.count("dtype_backend") == 2
    write_nb(folder / "pyarrow_backend.ipynb",
             HEAD + [pyarrow_load] + base[1:] + [VARIANTS_Q5_Q6["unique_without_tolist"], Q8])
    write_nb(folder / "category_column.ipynb",
             HEAD + [q["q1"] + "\ncloud_iam_df['user'] = cloud_iam_df['user'].astype('category')"] + base[1:]
             + [VARIANTS_Q5_Q6["unique_without_tolist"], Q8])
    write_nb(folder / "mixed_extra_columns.ipynb",
             HEAD + [q["q1"], q["q2"], MIXED_COLUMNS] + base[2:] + [q["q5"], q["q6"], Q8])


@pytest.mark.slow
def test_answer_types_grade_full_marks(tmp_path, monkeypatch):
    from ctlab.grading.batch import grade

    if not sorted((REPO / "autograder" / "tests").glob("q*.py")):
        pytest.fail("autograder/tests is missing: run `ctlab build`")
    subs = tmp_path / "subs"
    _variant_notebooks(subs)
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    grade(submissions=[subs], out=out, root=REPO, jobs=2, timeout=60, memory_mb=2048, no_sandbox=False,
          force=False, manual=None, progress=False)
    with open(out / "gradebook.csv", newline="") as f:
        rows = {Path(r["file"]).stem: r for r in csv.DictReader(f)}
    full = {"q1": "1", "q2": "2", "q3": "2", "q4": "2", "q5": "2", "q6": "1", "q7": "3"}
    assert sorted(rows) == ["category_column", "index_answers", "mixed_extra_columns", "numpy_answers",
                            "pyarrow_backend", "unique_without_tolist"]
    for name, row in rows.items():
        assert ({q: row[q] for q in full}, row["grading_status"]) == (full, "ok"), name
    manifest = snapshot.read_manifest(out / "snapshots" / "mixed_extra_columns")
    assert manifest["variables"]["cloud_iam_df"]["text_columns"] == ["when"]
    assert manifest["variables"]["cloud_api_df"]["text_columns"] == ["meta"]
    assert manifest["variables"]["related_api"]["note"] == "saved as text (values of mixed or nested types): meta"
    manifest = snapshot.read_manifest(out / "snapshots" / "unique_without_tolist")
    assert manifest["variables"]["actors"]["type"] == "ArrowStringArray"
    assert manifest["variables"]["actors"]["kind"] == "array"


def test_report_leaves_out_answers_saved_in_files_past_its_cap(tmp_path, monkeypatch):
    """A crafted giant answer is not loaded (nor described) by the report: one submission's
    answers must not cost the whole report minutes and gigabytes."""
    from ctlab.report import answers as report_answers

    frame = pd.DataFrame({"event_id": [f"e{i}" for i in range(2000)], "n": range(2000)})
    snapshot.write_snapshot({"susp_iam": frame, "mitre_techniques": ["T1078"]}, ["susp_iam", "mitre_techniques"],
                            tmp_path / "s", 3)
    values, problems = snapshot.load_snapshot_with_problems(tmp_path / "s", max_file_bytes=1000)
    assert values == {"mitre_techniques": ["T1078"]}
    assert problems["susp_iam"].startswith("is too large to load here (") and problems["susp_iam"].endswith(" bytes saved)")
    monkeypatch.setattr(report_answers, "REPORT_VALUE_FILE_CAP", 1000)
    loaded = report_answers.load_snapshot_dir(tmp_path / "s")
    assert isinstance(loaded["susp_iam"], report_answers.Unsaved) and loaded["mitre_techniques"] == ["T1078"]
