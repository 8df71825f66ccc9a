"""Execute the notebooks in a real Jupyter kernel and score them with the otter tests.

Each notebook runs once (module-scoped fixtures) in a temporary folder holding a copy of data/ (the master
as `ctlab build` hands it to otter assign: hints expanded, check functions copied into its tests); then a
last cell loads every autograder/tests/q*.py (hidden tests included) with otter's exception-test
machinery, runs it against the kernel's globals and prints the per-question scores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from student_ids import FIRST, fill

ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = ROOT / "autograder" / "tests"
CORPUS = ROOT / "tests" / "notebooks"
MARK = "@@SCORES@@"
AUTOGRADED = ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"]
FULL = {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q9": 1, "q10": 1, "q11": 4, "q12": 3}

pytestmark = pytest.mark.slow

GRADE_CELL = f"""
import glob as _glob, json as _json, os as _os
from otter.test_files.exception_test import ExceptionTestFile as _ETF
_scores = {{}}
for _path in sorted(_glob.glob(_os.path.join({str(TESTS_DIR)!r}, "q*.py"))):
    _tf = _ETF.from_file(_path)
    _tf.run(globals())
    _scores[_tf.name] = {{
        "score": _tf.score,
        "possible": _tf.possible,
        "failed": [r.message.strip().splitlines()[-1] for r in _tf.test_case_results if not r.passed],
    }}
print({MARK!r} + _json.dumps(_scores))
"""


def execute(nb_path: Path, workdir: Path, *, extra: str = "", allow_errors: bool = False):
    """Run a notebook in workdir (with data/ copied in); return the executed notebook and scores."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "assignment" / "data", workdir / "data")  # as students get it, every variant inside
    # the hidden tests read the answer key of the variant the logs are (variant 1: the corpus ids choose it)
    key = json.loads((ROOT / "autograder" / "answer_keys.json").read_text())["v01"]
    (workdir / "data" / "answer_key.json").write_text(json.dumps(key))
    target = workdir / nb_path.name
    shutil.copy(nb_path, target)
    nb = nbformat.read(target, as_version=4)
    n_own = len(nb.cells)
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    nb.cells.append(nbformat.v4.new_code_cell(GRADE_CELL))
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, allow_errors=allow_errors,
        # a loaded machine can take seconds to send a figure: wait for it, and fail rather than drop it
        iopub_timeout=60, raise_on_iopub_timeout=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    line = next(ln for ln in text.splitlines() if ln.startswith(MARK))
    return nb, n_own, json.loads(line[len(MARK):])


def points(scores: dict) -> dict[str, float]:
    return {q: round(scores[q]["score"], 3) for q in AUTOGRADED}


def errors(nb, upto: int) -> list[str]:
    return [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell in enumerate(nb.cells[:upto])
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    # the master as otter assign gets it: its test cells call solutions/checks.py, which the build copies in
    from ctlab.build.generate import expanded_master

    path = tmp_path_factory.mktemp("expanded") / "scenario03b.ipynb"
    nbformat.write(expanded_master(root=ROOT), path)
    return execute(path, tmp_path_factory.mktemp("master"))


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    typed = tmp_path_factory.mktemp("typed") / "scenario03b.ipynb"  # the id typed in, nothing else
    nbformat.write(fill(nbformat.read(ROOT / "assignment" / "scenario03b.ipynb", as_version=4), FIRST), typed)
    return execute(typed, tmp_path_factory.mktemp("student"), allow_errors=True)


@pytest.fixture(scope="module")
def helpnb(tmp_path_factory):
    return execute(ROOT / "assignment" / "scenario03b-help.ipynb", tmp_path_factory.mktemp("help"))


def test_reference_solution_earns_full_marks(master):
    nb, _, scores = master
    assert points(scores) == FULL, {q: s["failed"] for q, s in scores.items() if s["failed"]}
    assert {q: scores[q]["possible"] for q in AUTOGRADED} == FULL


def test_reference_solution_draws_the_timeline(master):
    nb, _, _ = master
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1, "the master notebook should draw the timeline plot, once (plot_timeline returns the figure)"


def test_student_notebook_runs_and_earns_nothing(student):
    nb, n_own, scores = student
    assert errors(nb, n_own) == []  # runs top to bottom, every cell, without an exception
    assert all(scores[q]["score"] == 0 for q in AUTOGRADED), points(scores)
    # each grader.check cell printed a result rather than crashing
    checks = [c for c in nb.cells[:n_own] if c.cell_type == "code" and c.source.startswith("grader.check(")]
    assert len(checks) == len(AUTOGRADED)
    assert all(c.outputs for c in checks)


def test_student_public_tests_explain_the_failure(student):
    nb, n_own, _ = student
    check_q3 = next(c for c in nb.cells[:n_own] if c.source == 'grader.check("q3")')
    text = json.dumps(check_q3.outputs)
    assert "susp_iam is still ...: replace the ... with your answer" in text


def test_export_without_a_front_end_says_plainly_it_did_not_save(student):
    """nbclient has no front end to save the notebook: the submission cell still writes the zip, and its
    last words say that the zip holds the saved version, not what the student sees."""
    nb, n_own, _ = student
    export = nb.cells[n_own - 1]
    assert export.source.startswith("# Saves this notebook as you see it")
    text = "".join(o.get("text", "") for o in export.outputs if o.get("name") == "stdout")
    assert text.rstrip().splitlines()[-1].startswith(
        "NOT SAVED: the notebook could not be saved from here, so the zip holds the version saved at ")
    assert text.rstrip().endswith("and not what you see now. Save it yourself "
                                  "(File > Save Notebook, or Ctrl+S), then run this cell again.")
    assert "Running your submission against local test cases" in text


# in notebook order: part 6b follows part 6, part 8b (q12, after part 8's prose) comes last
PARTS = ["q1", "q2", "q3", "q4", "q5", "q6", "q11", "q7", "q12"]
PART_MARK = "@@PART@@"
PART_CELL = """
import json as _json, os as _os
from otter.test_files.exception_test import ExceptionTestFile as _ETF
_part = {{}}
for _q in {parts!r}:
    _tf = _ETF.from_file(_os.path.join({tests!r}, _q + ".py"))
    _tf.run(globals())
    _part[_q] = _tf.score
print({mark!r} + _json.dumps([{last!r}, _part]))
"""


def test_pasted_reveals_earn_parts_1_to_n_after_each_part(tmp_path):
    """The help notebook's reveals, pasted into the student notebook's answer cells in order, run in a
    real kernel: after part N's check cell, parts 1..N have full marks (hidden tests included)."""
    from reveal_answers import help_reveals, paste_reveals

    nb = fill(nbformat.read(ROOT / "assignment" / "scenario03b.ipynb", as_version=4), FIRST)
    assert paste_reveals(nb, help_reveals(ROOT / "solutions" / "hints.yaml")) == PARTS[:-1] + ["q8", "q12"]
    assert nb.cells[-1].source.startswith("# Saves this notebook")
    nb.cells.pop()  # the submission cell: nothing to save or submit here
    for q in reversed(PARTS):
        at = next(i for i, c in enumerate(nb.cells) if c.source == f'grader.check("{q}")')
        upto = PARTS[: PARTS.index(q) + 1]
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(
            PART_CELL.format(parts=upto, tests=str(TESTS_DIR), mark=PART_MARK, last=q)))
    path = tmp_path / "nb" / "scenario03b.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    ran, n_own, scores = execute(path, tmp_path / "run")
    assert errors(ran, n_own) == []
    steps = {}
    for cell in ran.cells[:n_own]:
        for o in cell.get("outputs", []):
            for line in o.get("text", "").splitlines():
                if line.startswith(PART_MARK):
                    last, part = json.loads(line[len(PART_MARK):])
                    steps[last] = part
    assert steps == {q: {p: FULL[p] for p in PARTS[: PARTS.index(q) + 1]} for q in PARTS}
    assert points(scores) == {**{q: FULL[q] for q in PARTS}, "q9": 0, "q10": 0}


def test_help_notebook_runs_and_its_reveals_earn_full_marks(helpnb):
    nb, n_own, scores = helpnb
    assert errors(nb, n_own) == []
    assert {q: scores[q]["score"] for q in ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q11", "q12"]} == {
        q: FULL[q] for q in ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q11", "q12"]
    }, {q: s["failed"] for q, s in scores.items() if s["failed"]}


# The mistake corpus: exact scores. A mistake costs its own question and, where noted, a question that
# is defined in terms of it; nothing else.
EXPECTED_LOSS = {
    "passes_all": {},
    # the console user's key: only q12's key test
    "fails_q12_console_users_key": {"q12": 1.0},
    # naive timestamps: the UTC test and the hidden instant test (hour is still the UTC hour)
    "fails_q2_parse_without_utc": {"q2": 1.0},
    # rows with unparseable timestamps dropped: only q2's "all rows kept" test; q1 and q3-q6 compare
    # against the student's own rows, so the same mistake is not charged again
    "fails_q2_dropped_nat_rows": {"q2": 0.5},
    # missing DeactivateMFADevice: q3's completeness and exact tests
    "fails_q3_missing_event_name": {"q3": 1.0},
    # extra AttachUserPolicy: q3's "no other event names" and exact tests
    "fails_q3_extra_event_name": {"q3": 1.0},
    "fails_q4_getobject_lookalike": {"q4": 1.0},
    "fails_q5_actors_from_api_log": {"q5": 1.0},
    "fails_q5_related_rows_from_iam_log": {"q5": 1.5},
    # q7: 0.5 for a well-formed list from the table + 2.5 x coverage x precision, rounded down to 0.5
    # one core behaviour of three missing: 2.5 x 2/3 = 1.67 -> 1.5
    "fails_q7_missing_technique": {"q7": 1.0},
    # T1999 is not in the table: the public test fails, and precision 3/4: 1.875 -> 1.5
    "fails_q7_made_up_technique": {"q7": 1.5},
    # T1485 is in the table but this incident shows nothing of it: precision 3/4: 1.875 -> 1.5
    "fails_q7_technique_not_in_incident": {"q7": 1.0},
    # all 42 IDs of the table, 22 with evidence: 2.5 x 22/42 = 1.31 -> 1
    "fails_q7_lists_whole_table": {"q7": 1.5},
    # its first 21 IDs (T1059.009 ... T1528): 11 with evidence, no data theft: 2.5 x 2/3 x 11/21 = 0.87 -> 0.5
    "fails_q7_lists_half_table": {"q7": 2.0},
    # one core behaviour of three: 2.5 x 1/3 = 0.83 -> 0.5
    "fails_q7_single_technique": {"q7": 2.0},
}


def test_corpus_is_complete():
    assert sorted(p.stem for p in CORPUS.glob("*.ipynb")) == sorted(EXPECTED_LOSS)


@pytest.mark.parametrize("name", sorted(EXPECTED_LOSS))
def test_corpus_scores(name, tmp_path):
    nb, n_own, scores = execute(CORPUS / f"{name}.ipynb", tmp_path)
    assert errors(nb, n_own) == []
    expected = {q: round(FULL[q] - EXPECTED_LOSS[name].get(q, 0), 3) for q in AUTOGRADED}
    assert points(scores) == expected, {q: s["failed"] for q, s in scores.items() if s["failed"]}


def test_reveal_answers_are_the_help_notebooks():
    """tests/reveal_answers.py (the corpora's answers) holds the help notebook's reveal code."""
    import ast

    from reveal_answers import MITRE_IDS, REVEAL, help_reveals

    reveal = help_reveals(ROOT / "solutions" / "hints.yaml")
    for q in ("q2", "q3", "q4", "q5", "q6", "q11"):
        assert REVEAL[q] == reveal[q], f"reveal_answers.py differs from the help notebook's reveal of {q}"
    loads = [ast.dump(n) for n in ast.parse(reveal["q1"]).body if isinstance(n, ast.Assign)]
    assert [ast.dump(n) for n in ast.parse(REVEAL["q1"]).body] == loads
    env: dict = {}
    exec(REVEAL["q7"], env)
    assert env["mitre_techniques"] == MITRE_IDS
    env = {}
    exec(reveal["q7"], env)
    assert env["mitre_techniques"] == env["example_mitre"] == MITRE_IDS
    assert sorted(REVEAL) == sorted([f"q{i}" for i in range(1, 8)] + ["q11", "q12"])
