"""The demo submissions (tests/submissions/demo/): made from the student notebook by filling
its answer cells, committed without outputs. This file also regenerates them:

    .venv/bin/python tests/test_report_demo.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from reveal_answers import PARSE, without_display  # tests/reveal_answers.py
from reveal_answers import REVEAL as ANSWERS
from student_ids import FIRST, fill  # tests/student_ids.py

REPO = Path(__file__).resolve().parents[1]
STUDENT = REPO / "assignment" / "scenario03b.ipynb"
DEMO = REPO / "tests" / "submissions" / "demo"

# The help notebook's reveal answers, per answer cell (keyed by the cell's first line as handed out).
REVEAL = {
    "cloud_iam_df = ...": ANSWERS["q1"],
    "...": ANSWERS["q2"],
    "susp_iam = ...": ANSWERS["q3"],
    "susp_api = ...": ANSWERS["q4"],
    "actors = ...": ANSWERS["q5"],
    "susp_users = ...": ANSWERS["q6"],
    "principal = ...": "principal = susp_users[0] if susp_users else None\n"
                       "fig = plot_timeline(cloud_iam_df, cloud_api_df, principal)",
    "iocs = {": ANSWERS["q11"],
    "mitre_techniques = ...": ANSWERS["q7"],
    'triage_summary = """': '''triage_summary = """
An IAM user's credentials were used to create a new access key, attach a policy to a role
and assume that role. The same principal then enumerated IAM and S3 and read objects from
a sensitive bucket. Techniques: T1078 (valid accounts), T1098 (account manipulation),
T1530 (data from cloud storage). Disable the key, revoke the role session, review the bucket.
"""
print(triage_summary)''',
}

CONTAINS = without_display(ANSWERS["q4"]).replace(".isin(['GetObject'])", ".str.contains('GetObject')")

# name -> {answer cell key: replacement}; each demo notebook is the full answer with these changes
DEMOS: dict[str, dict[str, str]] = {
    "full_marks": {},
    "getobject_contains": {"susp_api = ...": CONTAINS},
    "getobject_contains_2": {"susp_api = ...": CONTAINS.replace("str.contains('GetObject')",
                                                                "str.contains('GetObject', regex=False)")},
    "parsed_without_utc": {"...": PARSE.replace("    utc=True,\n", "")},
    "dropped_nat_rows": {"...": PARSE + "\ncloud_iam_df = cloud_iam_df.dropna(subset=['timestamp'])"
                                        "\ncloud_api_df = cloud_api_df.dropna(subset=['timestamp'])"},
    "actors_from_api_log": {"actors = ...": without_display(ANSWERS["q5"]).replace("susp_iam['user']", "susp_api['user']")},
    "made_up_technique": {"mitre_techniques = ...": without_display(ANSWERS["q7"]).replace('"]', '", "T1999.404"]')},
}
BROKEN = b'{"cells": [{"cell_type": "code", "source": "cloud_iam_df = pd.read_csv(\n'  # cut off: not JSON


def _key(source: str) -> str:
    return source.splitlines()[0].strip() if source.strip() else ""


def make_demo(name: str) -> nbformat.NotebookNode:
    nb = fill(nbformat.read(str(STUDENT), as_version=4), FIRST)
    answers = {**REVEAL, **DEMOS[name]}
    seen = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        key = _key(cell.source)
        if key in answers and key not in seen:
            cell.source = answers[key]
            seen.add(key)
        cell.outputs = []
        cell.execution_count = None
    missing = set(REVEAL) - seen
    if missing:
        raise RuntimeError(f"{STUDENT}: no answer cell starting with {sorted(missing)}")
    return nb


def expected_files() -> dict[str, bytes]:
    files = {f"{name}.ipynb": nbformat.writes(make_demo(name)).encode() + b"\n" for name in DEMOS}
    files["broken_not_json.ipynb"] = BROKEN
    return files


def write_demo() -> None:
    DEMO.mkdir(parents=True, exist_ok=True)
    for name, data in expected_files().items():
        (DEMO / name).write_bytes(data)


@pytest.mark.skipif(not STUDENT.is_file(), reason="the student notebook is not built yet (ctlab build)")
def test_demo_notebooks_are_current():
    want = expected_files()
    got = {p.name: p.read_bytes() for p in DEMO.iterdir() if p.is_file() and p.name in want}
    assert sorted(got) == sorted(want)
    stale = [n for n in want if got[n] != want[n]]
    assert not stale, f"stale demo notebooks {stale}: run .venv/bin/python tests/test_report_demo.py"


def test_demo_notebooks_have_no_outputs():
    for name in DEMOS:
        nb = nbformat.read(str(DEMO / f"{name}.ipynb"), as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name


if __name__ == "__main__":
    write_demo()
    print(f"wrote {len(expected_files())} files to {DEMO}", file=sys.stderr)
