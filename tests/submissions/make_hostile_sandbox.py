"""Writes tests/submissions/hostile_sandbox/: attacks on the sandbox itself and on what the
grader writes, each notebook named by the outcome it must show.

Run from the repository root: `.venv/bin/python tests/submissions/make_hostile_sandbox.py`.
The files are committed; tests/test_grade_hostile_sandbox.py grades them in every sandbox mode
(and tests/test_grade_nonroot.py as a normal user) and checks each exact row.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from make_corpus import HEAD, REVEAL, notebook, write_nb  # tests/submissions/make_corpus.py

HERE = Path(__file__).resolve().parent
OUT = HERE / "hostile_sandbox"

# Leave a file in /dev (and its sub-mounts) for the next submission and pile data into it.
# Any write that lands costs q7, so the row shows it.
DEV_WRITE = r'''import json, os
tried = {}
for target in ("/dev/ctlab-leftover", "/dev/pts/ctlab-leftover", "/dev/mqueue/ctlab-leftover"):
    try:
        with open(target, "w") as f:
            f.write("left for the next submission")
        tried[target] = "written"
    except Exception as e:
        tried[target] = type(e).__name__
try:
    with open("/dev/ctlab-fill", "wb") as f:
        for _ in range(64):
            f.write(b"\0" * (1 << 20))
    tried["/dev/ctlab-fill"] = "written"
except Exception as e:
    tried["/dev/ctlab-fill"] = type(e).__name__
if "written" in tried.values():
    mitre_techniques = []
triage_summary = json.dumps(tried, sort_keys=True)'''

# Graded right after DEV_WRITE on the same worker: any file in /dev that is no device shows.
DEV_HUNT = r'''import json, os, stat
found = []
for dirpath, dirnames, filenames in os.walk("/dev"):
    dirnames[:] = [d for d in dirnames if d not in ("shm",)]  # its own /dev/shm
    for n in filenames:
        p = os.path.join(dirpath, n)
        try:
            if stat.S_ISREG(os.lstat(p).st_mode):
                found.append(p)
        except OSError:
            pass
if found:
    mitre_techniques = []
triage_summary = json.dumps(sorted(found))'''

# 4,000 threads, each waiting: far past any per-submission limit.
THREADS = r'''import threading
_hold = threading.Event()
_threads = []
for _ in range(4000):
    t = threading.Thread(target=_hold.wait, daemon=True)
    t.start()
    _threads.append(t)'''

# A lone surrogate in a cell's source (valid JSON, not encodable as UTF-8: Python refuses to
# compile it), one in an answer a test message repeats, and one in a cell's error.
SURROGATE_SOURCE = "# a lone surrogate in the source: \ud800\nmitre_techniques = []"
SURROGATE_ANSWER = "mitre_techniques = ['T1078', 'T1098', 'T1530', chr(0xdc00)]"
SURROGATE_ERROR = "raise ValueError('no such technique: ' + chr(0xdc00))"

# A snapshot file forged by the notebook: 16 million rows, delta-encoded into a few hundred KiB,
# in place of q7's answer (a frame iterates as its one column name, so q7's tests are quick).
FORGE_16M_ROWS = r'''import glob, json, os, re, shutil
import pyarrow as pa, pyarrow.parquet as pq
# the staging folder: /out/job in bubblewrap mode, beside the working folder in the fallback
_snaps = sorted(p for p in glob.glob("/out/*/snap-*") + glob.glob(os.path.join(os.getcwd(), "..", "stage", "snap-*"))
                if re.fullmatch(r"snap-\d{5}", os.path.basename(p)))
_latest = _snaps[-1]
_cell = int(_latest[-5:]) + 2  # the kernel ends in the next cell, so this snapshot is the newest
_forged = os.path.join(os.path.dirname(_latest), f"snap-{_cell:05d}")
shutil.copytree(_latest, _forged)
with open(os.path.join(_forged, "manifest.json")) as f:
    _manifest = json.load(f)
_manifest["cell"] = _cell
_manifest["variables"]["mitre_techniques"] = {"kind": "dataframe", "file": "v9999.parquet"}
pq.write_table(pa.table({"x": pa.array(range(16_000_000), pa.int64())}), os.path.join(_forged, "v9999.parquet"),
               compression="none", use_dictionary=False, column_encoding={"x": "DELTA_BINARY_PACKED"})
with open(os.path.join(_forged, "manifest.json"), "w") as f:
    json.dump(_manifest, f)'''
END_KERNEL = "import os\nos._exit(0)"

# Kept running while a second fallback batch starts beside it (test_concurrent_fallback_batches...).
WAIT = "import time\ntime.sleep(12)"

BIDI_NAME = "passes_all_named_\u202ebnypi.ipynb"

NOTEBOOKS: dict[str, list[str]] = {
    "hostile_dev_write_refused.ipynb": HEAD + REVEAL + [DEV_WRITE],
    "passes_all_finds_no_dev_leftover.ipynb": HEAD + REVEAL + [DEV_HUNT],
    "keeps_answers_thread_limit_after.ipynb": HEAD + REVEAL + [THREADS],
    "forged_16m_row_snapshot_too_large_for_report.ipynb": HEAD + REVEAL + [FORGE_16M_ROWS, END_KERNEL],
    "passes_all_after_a_12s_wait.ipynb": HEAD + REVEAL + [WAIT],
    BIDI_NAME: HEAD + REVEAL,
}
# Written with JSON escapes: the surrogates cannot be encoded as UTF-8.
ESCAPED_NOTEBOOKS: dict[str, list[str]] = {
    "lone_surrogates_in_source_answer_and_error.ipynb": HEAD + REVEAL + [SURROGATE_SOURCE, SURROGATE_ANSWER, SURROGATE_ERROR],
}


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    for name, cells in NOTEBOOKS.items():
        write_nb(OUT / name, cells)
    for name, cells in ESCAPED_NOTEBOOKS.items():
        (OUT / name).write_text(json.dumps(notebook(cells), indent=1, sort_keys=True, ensure_ascii=True) + "\n",
                                encoding="ascii")


if __name__ == "__main__":
    main()
