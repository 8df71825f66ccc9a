"""Writes tests/submissions/hostile_answers/: answers of every awkward shape, forged snapshot
files and answers that make the tests blow up, each notebook named by the outcome it must show.

Run from the repository root: `.venv/bin/python tests/submissions/make_hostile_answers.py`.
The files are committed; tests/test_grade_hostile_answers.py grades them and checks each outcome.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from make_corpus import HEAD, Q8, REVEAL, write_nb  # tests/submissions/make_corpus.py

HERE = Path(__file__).resolve().parent

OUT = HERE / "hostile_answers"

MULTIINDEX_COLUMNS = """\
susp_iam = susp_iam.copy()
susp_iam.columns = pd.MultiIndex.from_tuples([(c, 'value') for c in susp_iam.columns])"""

DUPLICATE_COLUMNS = "susp_api = pd.concat([susp_api, susp_api[['user']]], axis=1)"

NESTED_AND_MIXED = """\
n = len(cloud_iam_df)
cloud_iam_df['as_dict'] = [{'row': i, 'tags': ['a', i]} for i in range(n)]
cloud_iam_df['as_list'] = [[i, {'k': (i, 'x')}] for i in range(n)]
cloud_iam_df['mixed'] = [i if i % 3 else ('text' if i % 2 else None) for i in range(n)]
cloud_iam_df['as_tuple'] = [(i, 'x') for i in range(n)]
cloud_iam_df['as_set'] = [{i} for i in range(n)]
cloud_iam_df['objects'] = [object() for _ in range(n)]
susp_users = pd.Series([{'user': u} for u in susp_users])"""

UNUSUAL_DTYPES = """\
import decimal
n = len(cloud_api_df)
cloud_api_df['interval'] = pd.arrays.IntervalArray.from_breaks(range(n + 1))
cloud_api_df['period'] = pd.period_range('2026-01-01', periods=n, freq='D')
cloud_api_df['complex'] = np.arange(n) * 1j
cloud_api_df['sparse'] = pd.arrays.SparseArray(np.zeros(n))
cloud_api_df['decimal'] = [decimal.Decimal(i) / 4 for i in range(n)]
cloud_api_df['half'] = np.zeros(n, dtype=np.float16)
cloud_api_df['delta'] = pd.to_timedelta(np.arange(n), unit='s')
cloud_api_df['raw'] = b'bytes'
cloud_api_df['naive_and_aware'] = [pd.Timestamp('2026-01-01', tz='UTC') if i % 2 else pd.Timestamp('2026-01-01')
                                   for i in range(n)]
cloud_api_df['nullable'] = pd.array([None if i % 2 else i for i in range(n)], dtype='Int64')
cloud_api_df['arrow_int'] = pd.array(range(n), dtype='int64[pyarrow]')
cloud_api_df['category_mixed'] = pd.Categorical([1 if i % 2 else 'a' for i in range(n)])"""

ODD_LABELS = """\
for label in (0, None, ('a', 'b'), 1.5, pd.Timestamp('2026-01-01'), True, float('nan')):
    cloud_iam_df[label] = 1
cloud_iam_df.columns.name = 'fields'"""

INDEX_AND_SUBCLASS = """\
class AuditFrame(pd.DataFrame):
    @property
    def _constructor(self):
        return AuditFrame

susp_iam = AuditFrame(susp_iam).set_index(['user', 'event_id'], drop=False).rename_axis(['who', 'event_id'])
susp_iam.attrs['source'] = 'CloudTrail'
susp_api = AuditFrame(susp_api)"""

ZERO_WIDTH_AND_EMPTY = """\
susp_iam = susp_iam[[]]
susp_api = susp_api.iloc[:0]
mitre_techniques = []"""

HUGE_STRING = "mitre_techniques = ['T1078', 'T1098', 'T1530', 'T' + '1' * 5_000_000]"

TOO_LARGE = "susp_api = susp_api.assign(blob='x' * 120_000)"

# Forged snapshots: the cell runner stages a snapshot after every cell; this notebook copies the
# newest one to the number of the cell after next, changes it there, and ends the kernel in
# that cell, so the forged snapshot is the newest one, and the one the grader keeps.
FORGE_START = r'''import glob, json, os, re, shutil
_snaps = sorted(p for p in glob.glob("/*/snap-*") + glob.glob("/*/*/snap-*") + glob.glob("/*/*/*/snap-*")
                if re.fullmatch(r"snap-\d{5}", os.path.basename(p)))
_latest = _snaps[-1]
_cell = int(_latest[-5:]) + 2  # this cell is the one after the latest snapshot; the kernel ends in the next
_forged = os.path.join(os.path.dirname(_latest), f"snap-{_cell:05d}")
shutil.copytree(_latest, _forged)
with open(os.path.join(_forged, "manifest.json")) as f:
    _manifest = json.load(f)
_manifest["cell"] = _cell
_vars = _manifest["variables"]
'''
FORGE_END = r'''
with open(os.path.join(_forged, "manifest.json"), "w") as f:
    json.dump(_manifest, f)'''
END_KERNEL = "import os\nos._exit(0)"

FORGE_COLLIDING_SET = FORGE_START + r'''
# A set of numbers that all share one hash: building it takes time quadratic in its size.
with open(os.path.join(_forged, _vars["mitre_techniques"]["file"]), "w") as f:
    json.dump({"__t": "set", "v": [k * (2**61 - 1) for k in range(200_000)]}, f)''' + FORGE_END

FORGE_PANDAS_METADATA = FORGE_START + r'''
import pyarrow as pa, pyarrow.parquet as pq

def _rewrite(var, change):
    path = os.path.join(_forged, _vars[var]["file"])
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"pandas"])
    change(meta)
    table = table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()})
    pq.write_table(table, path, compression="none")

# attrs that pandas copies deeply on every operation the tests would make
_rewrite("susp_iam", lambda m: m.update(attributes={"x": [[i] for i in range(400_000)]}))
# a second column level, which pyarrow would rebuild by evaluating the column names
_rewrite("susp_api", lambda m: m.update(column_indexes=m["column_indexes"] * 2))''' + FORGE_END

FORGE_REASON_TEXT = FORGE_START + r'''
_vars["susp_users"] = {"kind": "unsupported", "type": "list", "why": "type",
                       "detail": {"type": "## Regrade: full marks <img src=x onerror=alert(1)>"},
                       "reason": "## Instructor note: full marks"}''' + FORGE_END

# Slow per row, not large: q3's tests turn every event_id into text, and a zoned timestamp takes
# some microseconds to box and format. Each of q3's four tests spends several seconds on it even on
# a fast machine, so the time limit falls inside q3 wherever the machine's speed puts it (8 million
# plain ints had q3 finish within the limit on an idle machine and q5 overrun instead).
SLOW_TESTS = ("susp_iam = pd.DataFrame({'event_id': pd.date_range('2026-01-01', periods=2_500_000, freq='ns', "
              "tz='Asia/Kolkata')})")
MEMORY_TESTS = "susp_iam = pd.DataFrame({'event_id': np.arange(12_000_000, dtype=np.int32)})"

NOTEBOOKS: dict[str, list[str]] = {
    "passes_all_reveal.ipynb": HEAD + REVEAL,
    "refused_multiindex_columns_susp_iam.ipynb": HEAD + REVEAL + [MULTIINDEX_COLUMNS],
    "refused_duplicate_columns_susp_api.ipynb": HEAD + REVEAL + [DUPLICATE_COLUMNS],
    "refused_too_large_susp_api.ipynb": HEAD + REVEAL + [TOO_LARGE],
    "saved_as_text_nested_columns_series_of_dicts.ipynb": HEAD + REVEAL + [NESTED_AND_MIXED],
    "saved_as_text_unusual_dtypes.ipynb": HEAD + REVEAL + [UNUSUAL_DTYPES],
    "saved_odd_column_labels.ipynb": HEAD + REVEAL + [ODD_LABELS],
    "saved_multiindex_index_subclassed_frames.ipynb": HEAD + REVEAL + [INDEX_AND_SUBCLASS],
    "zero_width_and_empty_answers.ipynb": HEAD + REVEAL + [ZERO_WIDTH_AND_EMPTY],
    "huge_string_answer_message_cut.ipynb": HEAD + REVEAL + [HUGE_STRING],
    "forged_colliding_hashes_refused.ipynb": HEAD + REVEAL + [FORGE_COLLIDING_SET, END_KERNEL],
    "forged_pandas_metadata_ignored_or_refused.ipynb": HEAD + REVEAL + [FORGE_PANDAS_METADATA, END_KERNEL],
    "forged_unsupported_reason_not_shown.ipynb": HEAD + REVEAL + [FORGE_REASON_TEXT, END_KERNEL],
    "blowup_tests_take_too_long.ipynb": HEAD + REVEAL + [SLOW_TESTS],
    "blowup_tests_run_out_of_memory.ipynb": HEAD + REVEAL + [MEMORY_TESTS],
}
assert REVEAL[-1] == Q8


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    for name, cells in NOTEBOOKS.items():
        write_nb(OUT / name, cells)


if __name__ == "__main__":
    main()
