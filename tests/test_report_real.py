"""Reports on real grading output: the demo notebooks graded by `ctlab grade` against the
project's own autograder, then the Gradescope round trip with the real autograder zip."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ctlab.build.autograder_zip import unpack_autograder
from ctlab.report import write_reports

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "tests" / "submissions" / "demo"
PICK = ["full_marks.ipynb", "getobject_contains.ipynb", "parsed_without_utc.ipynb", "broken_not_json.ipynb"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (REPO / "autograder" / "tests").is_dir() or not (DEMO / "full_marks.ipynb").is_file(),
                       reason="the autograder is not built yet (ctlab build)"),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from ctlab.grading.batch import grade

    base = tmp_path_factory.mktemp("real")
    subs = base / "subs"
    subs.mkdir()
    for name in PICK:
        shutil.copy(DEMO / name, subs / name)
    out = base / "out"
    grade(submissions=[subs], out=out, root=REPO, jobs=2, timeout=60, memory_mb=2048, no_sandbox=False,
          force=True, manual=None, progress=False)
    return base, out, write_reports(out=out, root=REPO)


def _hidden_only_lines() -> list[str]:
    """Source lines that occur in hidden test functions and in no public one."""
    hidden, public = set(), set()
    for path in sorted((REPO / "autograder" / "tests").glob("q*.py")):
        src = path.read_text()
        for node in ast.parse(src).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            is_hidden = any(
                isinstance(d, ast.Call) and any(k.arg == "hidden" and getattr(k.value, "value", False) is True
                                                for k in d.keywords)
                for d in node.decorator_list
            )
            lines = {ln.strip() for ln in (ast.get_source_segment(src, node) or "").splitlines()}
            (hidden if is_hidden else public).update(lines)
    return sorted(ln for ln in hidden - public if len(ln) > 25)


def test_feedback_reveals_no_hidden_tests_or_answer_key(graded):
    _, out, _ = graded
    truth = json.loads((REPO / "data" / "ground_truth.json").read_text())
    secrets = [truth["attacker_user"], truth["attacker_access_key"], truth["created_access_key"],
               truth["sensitive_bucket"], truth["privilege_change_event_id"], *truth["attacker_ips"]]
    hidden_lines = _hidden_only_lines()
    assert hidden_lines  # the scan has something to look for
    files = sorted((out / "feedback").iterdir())
    assert len(files) == 2 * len(PICK)
    for path in files:
        text = path.read_text()
        for secret in secrets + hidden_lines:
            assert secret not in text, (path.name, secret)


def test_common_wrong_answer_line_from_real_data(graded):
    _, out, summary = graded
    api = pd.read_csv(REPO / "assignment" / "data" / "cloud_api.csv", dtype=str, keep_default_na=False)
    extra = api[api["event_name"].str.contains("GetObject") & (api["event_name"] != "GetObject")]
    counts = extra["event_name"].value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    names = ", ".join(f"{n} ({c})" for n, c in ranked[:4]) + (f", {len(ranked) - 4} more" if len(ranked) > 4 else "")
    line = f"+{len(extra)} rows, event_name {names}: 1 student"
    assert [g.line() for g in summary.wrong_answers["q4"]] == [line]
    assert f"1. {line}\n" in (out / "report.md").read_text()
    q2 = [g.description for g in summary.wrong_answers["q2"]]
    assert q2 == ["cloud_iam_df: timestamp has no timezone (expected UTC); "
                  "cloud_api_df: timestamp has no timezone (expected UTC)"]
    broken = (out / "feedback" / "broken_not_json.md").read_text()
    assert "could not be graded: invalid notebook" in broken


def test_gradescope_round_trip_with_the_real_zip(graded):
    base, out, _ = graded
    home = unpack_autograder(REPO / "autograder" / "scenario03b-autograder.zip", base / "autograder")
    shutil.copy(DEMO / "getobject_contains.ipynb", home / "submission" / "getobject_contains.ipynb")
    env = dict(os.environ, CTLAB_AUTOGRADER_HOME=str(home), CTLAB_VENV=sys.prefix, CTLAB_TIMEOUT="60")
    proc = subprocess.run(["bash", str(home / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((home / "results" / "results.json").read_text())
    rows = (out / "gradebook.csv").read_text().splitlines()
    header = rows[0].split(",")
    row = next(r.split(",") for r in rows[1:] if "getobject_contains" in r)
    assert results["score"] == float(row[header.index("total_points_earned")])
    record = json.loads((out / "results" / "getobject_contains.json").read_text())
    assert sum(t["score"] for t in results["tests"] if "score" in t) == sum(t["points"] for t in record["tests"])
