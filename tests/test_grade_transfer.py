"""Part 8b (q12, "A second account") graded end to end: real notebooks through `ctlab grade` (the
sandboxed phase 1 reads data/transfer/ as students do, the trusted phase 2 runs the hidden tests), exact
points per answer, and feedback that never shows the right principal, key or object.

The wrong answers are the pivots a student is likely to take: the console user's key (the one busy
user of the account), the role without its session, the objects as `s3://` URLs, wrong types."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import nbformat
import pytest
from reveal_answers import REVEAL
from student_ids import FIRST, head_code

from ctlab.grading.batch import grade
from ctlab.report import write_reports

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
KEY = json.loads((REPO / "data" / "transfer" / "ground_truth.json").read_text(encoding="utf-8"))
HEAD = head_code(FIRST) + "\nimport pandas as pd"  # the id: without one a notebook is not graded
# the console user's own key, found in the records (not in the answer key): what a first look shows
CONSOLE_KEY = ("transfer_key = transfer[transfer['user'] == " + repr(KEY["console_user"])
               + "]['access_key_id'].dropna().iloc[0]")

CASES: dict[str, tuple[list[str], float]] = {
    "reveal_earns_3.ipynb": ([HEAD, REVEAL["q12"]], 3),
    "console_users_key_earns_2.ipynb": ([HEAD, REVEAL["q12"], CONSOLE_KEY], 2),
    "console_user_for_everything_earns_0.ipynb": (
        [HEAD, REVEAL["q12"], CONSOLE_KEY, "transfer_principal = " + repr(KEY["console_user"]),
         "transfer_objects = sorted(transfer.loc[transfer['user'] == transfer_principal, 'resource'].dropna().unique())[:1]"], 0),
    "role_without_session_and_s3_urls_earn_1.ipynb": (
        [HEAD, REVEAL["q12"], "transfer_principal = transfer_principal.split('/')[0]",
         "transfer_objects = ['s3://' + o for o in transfer_objects]"], 1),
    "wrong_types_earn_0.ipynb": (
        [HEAD, REVEAL["q12"], "transfer_principal = [transfer_principal]",
         "transfer_key = {'key': transfer_key}", "transfer_objects = transfer_objects[0]"], 0),
}
SECRETS = [KEY["principal"], KEY["access_key"], *KEY["objects"], *(o.rpartition("/")[2] for o in KEY["objects"])]


def _notebook(cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:03d}"
    return nbformat.writes(nb)


@pytest.fixture(scope="module", params=["bwrap", "user"])
def graded(request, tmp_path_factory):
    subs = tmp_path_factory.mktemp("subs")
    for name, (cells, _) in CASES.items():
        (subs / name).write_text(_notebook(cells), encoding="utf-8")
    out = tmp_path_factory.mktemp("out") / "out"
    with contextlib.chdir(REPO):
        grade(submissions=[subs], out=out, root=REPO, jobs=2, timeout=60, memory_mb=2048, no_sandbox=False,
              force=False, manual=None, progress=False, sandbox=request.param)
    write_reports(out=out, root=REPO)  # feedback and the batch report, as `ctlab grade` writes them
    results = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (out / "results").glob("*.json")}
    return out, {r["file"].rpartition("/")[2]: r for r in results.values()}


def test_each_answer_earns_its_exact_points(graded):
    _, results = graded
    assert sorted(results) == sorted(CASES)
    for name, (_, points) in CASES.items():
        r = results[name]
        assert r["status"] == "ok", (name, r["status"])
        assert r["questions"]["q12"]["points"] == points, (name, r["questions"]["q12"])


def test_the_part_is_extra_credit(graded):
    out, results = graded
    r = results["reveal_earns_3.ipynb"]
    assert r["questions"]["q12"]["max_points"] == 3
    md = next((out / "feedback").glob("reveal_earns_3*.md")).read_text(encoding="utf-8")
    assert "| q12 | 8b | 3 / 3 | extra credit |" in md


def test_feedback_and_messages_never_show_the_answer(graded):
    out, results = graded
    for name in CASES:
        if name.startswith("reveal"):
            continue
        stem = name.removesuffix(".ipynb")
        for page in sorted((out / "feedback").glob(f"{stem}*")):
            text = page.read_text(encoding="utf-8")
            assert not [s for s in SECRETS if s in text], page.name
        messages = json.dumps([t.get("message", "") for t in results[name]["tests"]])
        assert not [s for s in SECRETS if s in messages], name
    key_test = next(t for t in results["console_users_key_earns_2.ipynb"]["tests"]
                    if t["question"] == "q12" and not t["passed"])
    assert key_test["message"].endswith("AssertionError: transfer_key is not the key those calls were made with")


def test_the_batch_report_counts_who_found_it_and_the_wrong_pivots(graded):
    out, _ = graded
    md = (out / "report.md").read_text(encoding="utf-8")
    assert ("Part 8b (a second account): 1 of 5 students found all three answers "
            "(the principal 2, the key 2, the objects 2)") in md
    line = next(ln for ln in md.splitlines() if "Part 8b wrong pivots: " in ln)
    assert line.split("Part 8b wrong pivots: ")[1].startswith("the console user's key (2), ")


def test_the_gradescope_autograder_finds_the_second_account_too(tmp_path):
    """The built autograder zip carries data/transfer/ (files/data/transfer/): the reveal earns 3 there."""
    import os
    import subprocess
    import sys

    from ctlab.build.autograder_zip import unpack_autograder

    home = unpack_autograder(REPO / "autograder" / "scenario03b-autograder.zip", tmp_path / "autograder")
    (home / "submission" / "s1.ipynb").write_text(_notebook([HEAD, REVEAL["q12"]]), encoding="utf-8")
    env = dict(os.environ, CTLAB_AUTOGRADER_HOME=str(home), CTLAB_VENV=sys.prefix, CTLAB_TIMEOUT="60")
    proc = subprocess.run(["bash", str(home / "run_autograder")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((home / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 3
    assert {t["name"]: t["score"] for t in results["tests"] if t["name"].startswith("q12")} == {
        "q12: q12 - 1": 0, "q12: q12 - 2 (hidden)": 1, "q12: q12 - 3 (hidden)": 1, "q12: q12 - 4 (hidden)": 1}
