"""ctlab build: committed outputs are fresh, nothing secret reaches assignment/, tests agree with the key."""

from __future__ import annotations

import ast
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from ctlab.build import build
from ctlab.errors import CtlabError
from ctlab.notebooks import load_hints

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("assignment", "autograder")
STUDENT_NB = ROOT / "assignment" / "scenario03b.ipynb"
HELP_NB = ROOT / "assignment" / "scenario03b-help.ipynb"
TRUTH = json.loads((ROOT / "data" / "ground_truth.json").read_text())


def _files(base: Path) -> dict[str, bytes]:
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for folder in GENERATED
        for p in sorted((base / folder).rglob("*"))
        if p.is_file()
    }


def _run_tests(question: str, env: dict) -> dict[str, bool]:
    from otter.test_files.exception_test import ExceptionTestFile

    tf = ExceptionTestFile.from_file(str(ROOT / "autograder" / "tests" / f"{question}.py"))
    tf.run(env)
    return {r.test_case.name: r.passed for r in tf.test_case_results}


@pytest.mark.slow
def test_committed_outputs_are_fresh(tmp_path):
    for folder in ("solutions", "data", "src", *GENERATED):  # src: the engine ships in the autograder zip
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    summary = build(root=tmp_path)
    stale = [path for path, _, changed in summary.written if changed] + summary.removed
    assert stale == [], f"committed outputs are stale, run `ctlab build`: {stale}"
    assert _files(tmp_path) == _files(ROOT)
    assert "q7: 3 points (public 1 + hidden 2)" in summary.describe()


def test_outputs_present():
    for rel in (
        "assignment/scenario03b.ipynb", "assignment/scenario03b-help.ipynb",
        "assignment/data/cloud_iam.csv", "assignment/data/cloud_api.csv",
        "autograder/scenario03b-autograder.zip", "autograder/rubric.md", "autograder/manifest.json",
    ):
        assert (ROOT / rel).is_file(), rel
    assert sorted(p.stem for p in (ROOT / "autograder" / "tests").glob("q*.py")) == sorted(
        ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10"]
    )
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        assert (ROOT / "assignment" / "data" / name).read_bytes() == (ROOT / "data" / name).read_bytes()


def test_autograder_zip_is_complete_and_pinned():
    with zipfile.ZipFile(ROOT / "autograder" / "scenario03b-autograder.zip") as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {"run_autograder", "setup.sh", "environment.yml", "otter_config.json",
                "files/data/cloud_iam.csv", "files/data/cloud_api.csv"} <= set(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
        for q in ("q1", "q7", "q10"):
            assert zf.read(f"tests/{q}.py") == (ROOT / "autograder" / "tests" / f"{q}.py").read_bytes()
        env = zf.read("environment.yml").decode()
        assert "otter-grader[grading,plugins]==7.0.0" in env and "pandas==3.1.1" in env
        assert "ground_truth" not in " ".join(names)


def test_manifest_points_match_the_fixed_totals():
    manifest = json.loads((ROOT / "autograder" / "manifest.json").read_text())
    totals = {q: info["points"] for q, info in manifest["questions"].items()}
    assert totals == {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q8": 3, "q9": 1, "q10": 1}
    for q, info in manifest["questions"].items():
        if not info["manual"]:
            assert sum(t["points"] for t in info["tests"]) == info["points"], q
            assert any(t["hidden"] for t in info["tests"]), f"{q} has no hidden test"
    assert manifest["questions"]["q8"]["manual"] is True


def _notebook_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_assignment_has_no_hidden_tests_or_answer_key():
    hidden_names = set()
    for path in (ROOT / "autograder" / "tests").glob("q*.py"):
        for m in re.finditer(r"hidden=True\)\ndef (\w+)", path.read_text()):
            hidden_names.add(m.group(1))
    assert len(hidden_names) >= 9
    secrets = [TRUTH["attacker_user"], TRUTH["attacker_access_key"], *TRUTH["attacker_ips"],
               TRUTH["created_access_key"], TRUTH["sensitive_bucket"]]
    for path in sorted((ROOT / "assignment").rglob("*")):
        if not path.is_file():
            continue
        assert path.suffix in {".ipynb", ".csv"}, f"unexpected file in assignment/: {path}"
        if path.suffix != ".ipynb":
            continue
        text = _notebook_text(path)
        assert "hidden=True" not in text, path
        for name in hidden_names:
            assert name not in text, f"{path.name} holds the hidden test {name}"
        for secret in secrets:
            assert secret not in text, f"{path.name} mentions {secret!r} from the answer key"
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} has outputs"
    assert not list((ROOT / "assignment").rglob("ground_truth*"))


def test_student_notebook_hides_the_reference_solution():
    master = nbformat.read(ROOT / "solutions" / "scenario03b.ipynb", as_version=4)
    student = _notebook_text(STUDENT_NB)
    help_text = _notebook_text(HELP_NB)
    solution_lines, outside = [], set()
    for cell in master.cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            if "# BEGIN SOLUTION" in line:
                inside = True
                continue
            if "# END SOLUTION" in line:
                inside = False
                continue
            if inside or line.rstrip().endswith("# SOLUTION"):
                code = line.split("# SOLUTION")[0].strip()
                if len(code) > 12:
                    solution_lines.append(code)
            else:
                outside.add(line.strip())
    assert len(solution_lines) > 10
    for code in solution_lines:
        if code in outside:  # also part of the prompt (e.g. `triage_summary = """`)
            continue
        assert json.dumps(code)[1:-1] not in student or code in help_text, f"student notebook shows {code!r}"


def test_student_notebook_shape():
    nb = nbformat.read(STUDENT_NB, as_version=4)
    sources = [c.source for c in nb.cells]
    for q in ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10"]:
        assert f'grader.check("{q}")' in sources
    assert "grader.check_all()" in sources
    assert any(s.startswith("# Save your notebook first") and "grader.export(" in s for s in sources)
    answers = [c.source for c in nb.cells if "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    assert answers and all("..." in s or "Replace this text" in s for s in answers)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tests = nb.metadata["otter"]["tests"]
    assert set(tests) == {"q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10"}


def test_hints_have_one_source():
    hints = load_hints(ROOT / "solutions" / "hints.yaml")
    student = nbformat.read(STUDENT_NB, as_version=4)
    helpnb = nbformat.read(HELP_NB, as_version=4)
    student_md = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    help_md = "\n".join(c.source for c in helpnb.cells if c.cell_type == "markdown")
    help_code = [c.source for c in helpnb.cells if c.cell_type == "code"]
    for s in hints["sections"]:
        n = s["number"]
        assert f'<a id="help-{n}"></a>' in help_md
        assert f"(scenario03b-help.ipynb#help-{n})" in student_md
        for key in ("hint1", "hint2"):
            assert s[key].strip() in student_md and s[key].strip() in help_md
        assert s["reveal"].rstrip("\n") in help_code
    for s in hints["stretch"]:
        assert s["hint1"].strip() in student_md
    assert student_md.count("<details><summary>First hint</summary>") == 10
    assert "<!-- hints" not in student_md


def test_help_notebook_structure_and_verbatim_reveals():
    helpnb = nbformat.read(HELP_NB, as_version=4)
    headings = [c.source for c in helpnb.cells if c.cell_type == "markdown" and re.search(r"^## \d\. ", c.source, re.M)]
    assert len(headings) == 8 and all("**Goal:**" in h for h in headings)
    for title in ("### First hint", "### Second hint", "### Reveal (optional)"):
        assert sum(c.source.startswith(title) for c in helpnb.cells) == 8
    code = "\n".join(c.source for c in helpnb.cells if c.cell_type == "code")
    assert "susp_users = susp_iam['user'].unique().tolist()" in code
    assert "example_mitre = [\"T1078\", \"T1098\", \"T1530\"]" in code
    assert ".str.replace('Z', '', regex=False)" in code


def test_stretch_tests_agree_with_the_answer_key():
    assert all(_run_tests("q9", {"compromised_user": TRUTH["attacker_user"], "attacker_ip": ip}).values()
               for ip in TRUTH["attacker_ips"])
    assert not all(_run_tests("q9", {"compromised_user": "svc-backup", "attacker_ip": "192.0.2.10"}).values())
    minutes = TRUTH["minutes_to_exfil"]
    assert all(_run_tests("q10", {"minutes_to_exfil": minutes}).values())
    assert all(_run_tests("q10", {"minutes_to_exfil": minutes + 0.9}).values())
    assert not all(_run_tests("q10", {"minutes_to_exfil": minutes + 5}).values())
    assert not all(_run_tests("q10", {"minutes_to_exfil": str(minutes)}).values())


def _q7_tables() -> tuple[dict, list]:
    tree = ast.parse((ROOT / "autograder" / "tests" / "q7.py").read_text())
    dicts = [ast.literal_eval(n) for n in ast.walk(tree) if isinstance(n, ast.Dict) and len(n.keys) > 10]
    lists = [ast.literal_eval(n) for n in ast.walk(tree) if isinstance(n, ast.List) and len(n.elts) > 10]
    return dicts[0], lists[0]


def test_attack_table_and_scoring_rule():
    table, fits = _q7_tables()
    assert set(fits) <= set(table)
    assert {"T1078", "T1098", "T1530"} <= set(fits)
    assert "T1685.002" in table and "T1562.008" in table
    # the key's techniques all exist and fit; the table shown to students is the tests' table
    assert {t["id"] for t in TRUTH["techniques"]} <= set(fits)
    student_md = "\n".join(c.source for c in nbformat.read(STUDENT_NB, as_version=4).cells if c.cell_type == "markdown")
    shown = dict(re.findall(r"^\| `(T\d{4}(?:\.\d{3})?)` \| (.+) \|$", student_md, re.M))
    assert shown == table

    def score(ids):
        results = _run_tests("q7", {"mitre_techniques": ids})
        return sum(0.5 for passed in results.values() if passed)

    assert score(["T1078", "T1098", "T1530"]) == 3
    assert score([t["id"] for t in TRUTH["techniques"]]) == 3
    assert score((" t1078.004", "T1098.001 ", "t1530")) == 3  # trimmed, any case, tuple, sub-techniques
    assert score(["T1078", "T1098"]) == 2.5
    assert score(["T1078", "T1098", "T1530", "T1234"]) == 2.5  # does not exist
    assert score(["T1078", "T1098", "T1530", "T1486"]) == 2.5  # exists, not this incident
    assert score(["T1078 Valid Accounts", "T1098", "T1530"]) == 2.0  # not an ID: format and existence
    assert score([]) == 0
    assert score(["Valid Accounts", "persistence"]) == 0
    assert score("T1078") == 0


def test_build_reports_missing_inputs(tmp_path):
    with pytest.raises(CtlabError, match=r"solutions/scenario03b.ipynb: missing"):
        build(root=tmp_path)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    with pytest.raises(CtlabError, match=r"data/cloud_iam.csv: missing"):
        build(root=tmp_path)
    (tmp_path / "solutions" / "hints.yaml").write_text("sections: [")
    with pytest.raises(CtlabError, match=r"hints.yaml: not valid YAML"):
        build(root=tmp_path)
    assert not (tmp_path / "assignment").exists()


def test_cli_build_error_is_one_line(tmp_path, capsys):
    from ctlab.cli import main

    assert main(["build", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ctlab: error:") and "scenario03b.ipynb" in err[0]


def test_hints_yaml_is_plain_data():
    data = yaml.safe_load((ROOT / "solutions" / "hints.yaml").read_text())
    assert [s["question"] for s in data["sections"]] == [f"q{i}" for i in range(1, 9)]


def test_contract_matches_the_autograder():
    from ctlab import contract

    manifest = json.loads((ROOT / "autograder" / "manifest.json").read_text())
    assert list(contract.QUESTIONS) == list(manifest["questions"])
    assert contract.POINTS == {q: info["points"] for q, info in manifest["questions"].items()}
    assert contract.MANUAL_QUESTIONS == {q for q, info in manifest["questions"].items() if info["manual"]}
    # every test function reads only contract variables
    allowed = set(contract.ANSWER_VARIABLES)
    for path in (ROOT / "autograder" / "tests").glob("q*.py"):
        tree = ast.parse(path.read_text())
        for fn in tree.body:
            if isinstance(fn, ast.FunctionDef):
                assert {a.arg for a in fn.args.args} <= allowed, (path.name, fn.name)
