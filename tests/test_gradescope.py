"""The Gradescope autograder: zip contents, and a round trip through an /autograder-style tree
whose scores must equal `ctlab grade`'s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ctlab.build.autograder_zip import add_gradescope_files, unpack_autograder
from ctlab.gradescope import gradescope_results
from ctlab.report.config import FeedbackConfig

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "tests" / "fixtures" / "report" / "root"

CELLS = [
    "import pandas as pd",
    "cloud_iam_df = pd.read_csv('data/cloud_iam.csv')\ncloud_api_df = pd.read_csv('data/cloud_api.csv')",
    "susp_api = cloud_api_df[cloud_api_df['event_name'].str.startswith(('List', 'Describe'))"
    " | cloud_api_df['event_name'].str.contains('GetObject')]",
    "mitre_techniques = ['T1078', 'T1098', 'T1530', 'T9999']",
]


def _notebook(path: Path) -> Path:
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def _otter_zip(path: Path, config: dict) -> Path:
    """A zip laid out as otter assign writes one, holding the fixture's tests and data."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("otter_config.json", json.dumps(config))
        zf.writestr("run_autograder", "#!/usr/bin/env bash\necho otter\n")
        zf.writestr("requirements.txt", "otter-grader[grading]==7.0.0\n")
        for test in sorted((ROOT / "autograder" / "tests").glob("q*.py")):
            zf.write(test, f"tests/{test.name}")
        for csv in sorted((ROOT / "assignment" / "data").glob("*.csv")):
            zf.write(csv, f"files/data/{csv.name}")
    return path


def test_zip_contents_and_reproducible(tmp_path):
    z = add_gradescope_files(_otter_zip(tmp_path / "ag.zip", {"show_hidden": False}), project=REPO)
    first = z.read_bytes()
    add_gradescope_files(z, project=REPO)
    assert z.read_bytes() == first  # same inputs, same bytes
    with zipfile.ZipFile(z) as zf:
        names = set(zf.namelist())
        assert {"run_autograder", "setup.sh", "requirements.txt", "otter_config.json",
                "ctlab-src/pyproject.toml", "ctlab-src/README.md", "ctlab-src/src/ctlab/gradescope.py",
                "ctlab-src/src/ctlab/grading/batch.py", "tests/q4.py", "files/data/cloud_api.csv",
                "ctlab-src/src/ctlab/templates/gradescope/run_autograder.sh.j2"} <= names
        assert not [n for n in names if "__pycache__" in n or n.startswith("ctlab-src/src/ctlab/data/")]
        assert b"-m ctlab.gradescope" in zf.read("run_autograder")
        assert zf.read("run_autograder") != b"#!/usr/bin/env bash\necho otter\n"  # otter's is replaced
        assert (zf.getinfo("run_autograder").external_attr >> 16) & 0o777 == 0o755
    for script in ("run_autograder", "setup.sh"):
        with zipfile.ZipFile(z) as zf:
            (tmp_path / script).write_bytes(zf.read(script))
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0


def test_results_json_shape():
    result = {"status": "ok", "questions": {"q4": {}, "q8": {}}, "tests": [
        {"name": "q4 - 1", "question": "q4", "points": 0.0, "max_points": 1.0, "hidden": False, "passed": False,
         "message": "Error at line 3 in test q4:\n  assert x\nAssertionError: 4 rows too many"},
        {"name": "q4 - 2", "question": "q4", "points": 0.0, "max_points": 1.0, "hidden": True, "passed": False,
         "message": "AssertionError: the answer is api-01..api-05"},
    ]}
    out = gradescope_results(result, 0.0, FeedbackConfig())
    assert out["score"] == 0.0
    assert out["tests"][1] == {"name": "q4: q4 - 1", "score": 0.0, "max_score": 1.0, "status": "failed",
                               "visibility": "visible", "output": "4 rows too many"}
    assert out["tests"][2]["visibility"] == "hidden" and out["tests"][2]["output"] == ""
    assert "q8 (the triage summary) is graded by hand" in out["output"]
    shown = gradescope_results(result, 0.0, FeedbackConfig(hidden_mode="pass_fail", show_hidden=True))
    assert shown["tests"][2]["visibility"] == "after_published"


@pytest.mark.slow
def test_round_trip_matches_ctlab_grade(tmp_path):
    from ctlab.grading.batch import grade

    sub = _notebook(tmp_path / "subs" / "s1234.ipynb")
    out = tmp_path / "out"
    grade(submissions=[sub], out=out, root=ROOT, jobs=1, timeout=60, memory_mb=2048, no_sandbox=False,
          force=True, manual=None, progress=False)
    row = (out / "gradebook.csv").read_text().splitlines()
    header, values = row[0].split(","), row[1].split(",")
    expected_total = float(values[header.index("total_points_earned")])
    expected_tests = json.loads((out / "results" / "s1234.json").read_text())["tests"]
    assert expected_total == 2.5  # q1 1 + q7 public 1.5; q4 and q7's hidden test fail

    z = add_gradescope_files(_otter_zip(tmp_path / "ag.zip", {"show_hidden": True}), project=REPO)
    home = unpack_autograder(z, tmp_path / "autograder")
    (home / "submission" / "s1234.ipynb").write_bytes(sub.read_bytes())
    env = dict(os.environ, CTLAB_AUTOGRADER_HOME=str(home), CTLAB_VENV=sys.prefix, CTLAB_TIMEOUT="60")
    proc = subprocess.run(["bash", str(home / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((home / "results" / "results.json").read_text())
    assert results["score"] == expected_total
    got = {t["name"]: (t["score"], t["max_score"], t["visibility"]) for t in results["tests"] if "score" in t}
    want = {
        f"{t['question']}: {t['name']}" + (" (hidden)" if t["hidden"] else ""):
        (t["points"], t["max_points"], "after_published" if t["hidden"] else "visible")
        for t in expected_tests
    }
    assert got == want
    assert results["tests"][0] == {"name": "Grading status", "status": "passed", "output": "ok",
                                   "visibility": "visible"}
    q4 = next(t for t in results["tests"] if t["name"] == "q4: q4 - 1")
    assert q4["output"] == "2 event names start with GetObject but are not GetObject"
    assert "bubblewrap" in results["output"] or "fallback" in results["output"]


def test_no_notebook_in_submission(tmp_path):
    from ctlab.gradescope import run_autograder

    z = add_gradescope_files(_otter_zip(tmp_path / "ag.zip", {}), project=REPO)
    home = unpack_autograder(z, tmp_path / "autograder")
    (home / "submission" / "notes.txt").write_text("hello")
    run = run_autograder(autograder_dir=home / "source", submission_dir=home / "submission",
                         results_dir=home / "results")
    assert run.score == 0.0
    assert json.loads((home / "results" / "results.json").read_text())["output"].startswith("No .ipynb")
