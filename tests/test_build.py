"""ctlab build: committed outputs are fresh, nothing secret reaches assignment/, tests agree with the key."""

from __future__ import annotations

import ast
import builtins
import html
import json
import re
import shutil
import symtable
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from ctlab.build.generate import build
from ctlab.build.notebooks import EXPORT_CODE, Checks, find_test_cells, inline_checks, load_checks, load_hints
from ctlab.errors import CtlabError

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("assignment", "autograder")
STUDENT_NB = ROOT / "assignment" / "scenario03b.ipynb"
MASTER_NB = ROOT / "solutions" / "scenario03b.ipynb"
CHECKS = ROOT / "solutions" / "checks.py"
HELP_NB = ROOT / "assignment" / "scenario03b-help.ipynb"
TRUTH = json.loads((ROOT / "data" / "ground_truth.json").read_text())
TRANSFER = json.loads((ROOT / "data" / "transfer" / "ground_truth.json").read_text())


def _files(base: Path) -> dict[str, bytes]:
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for folder in GENERATED
        for p in sorted((base / folder).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(autouse=True)
def _in_variant_1(tmp_path_factory, monkeypatch):
    """Tests run where the grader runs them: data/ holds variant 1's logs and its answer key."""
    where = tmp_path_factory.mktemp("cwd")
    (where / "data").mkdir()
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        (where / "data" / name).symlink_to(ROOT / "data" / name)
    key = json.loads((ROOT / "autograder" / "answer_keys.json").read_text())["v01"]
    (where / "data" / "answer_key.json").write_text(json.dumps(key))
    monkeypatch.chdir(where)


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
    assert "q7: 3 points (public 0.5 + hidden 2.5)" in summary.describe()


def test_outputs_present():
    for rel in (
        "assignment/scenario03b.ipynb", "assignment/scenario03b-help.ipynb",
        "assignment/data/cloud_iam.csv", "assignment/data/cloud_api.csv",
        "autograder/scenario03b-autograder.zip", "autograder/rubric.md", "autograder/manifest.json",
    ):
        assert (ROOT / rel).is_file(), rel
    assert sorted(p.stem for p in (ROOT / "autograder" / "tests").glob("q*.py")) == sorted(
        ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"]
    )
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        assert (ROOT / "assignment" / "data" / name).read_bytes() == (ROOT / "data" / name).read_bytes()
    # part 8b's second account goes out with its licence, never with its answer key or raw export
    shipped = sorted(p.name for p in (ROOT / "assignment" / "data" / "transfer").iterdir())
    assert shipped == ["LICENSE", "NOTICE.md", "cloud_api.csv", "cloud_iam.csv"]
    for name in shipped:
        assert (ROOT / "assignment" / "data" / "transfer" / name).read_bytes() == \
            (ROOT / "data" / "transfer" / name).read_bytes()


def test_autograder_zip_is_complete_and_pinned():
    with zipfile.ZipFile(ROOT / "autograder" / "scenario03b-autograder.zip") as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {"run_autograder", "setup.sh", "environment.yml", "otter_config.json",
                "files/data/cloud_iam.csv", "files/data/cloud_api.csv", "files/data/transfer/cloud_iam.csv",
                "files/data/transfer/cloud_api.csv", "files/data/transfer/LICENSE"} <= set(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
        for q in ("q1", "q7", "q10"):
            assert zf.read(f"tests/{q}.py") == (ROOT / "autograder" / "tests" / f"{q}.py").read_bytes()
        env = zf.read("environment.yml").decode()
        assert "otter-grader[grading,plugins]==7.0.0" in env and "pandas==3.1.1" in env
        assert "ground_truth" not in " ".join(names)


def test_manifest_points_match_the_fixed_totals():
    manifest = json.loads((ROOT / "autograder" / "manifest.json").read_text())
    totals = {q: info["points"] for q, info in manifest["questions"].items()}
    assert totals == {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q8": 3, "q9": 1, "q10": 1, "q11": 4,
                      "q12": 3}
    for q, info in manifest["questions"].items():
        if not info["manual"]:
            assert sum(t["points"] for t in info["tests"]) == info["points"], q
            assert any(t["hidden"] for t in info["tests"]), f"{q} has no hidden test"
    assert manifest["questions"]["q8"]["manual"] is True


def _notebook_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_assignment_has_no_hidden_tests_or_answer_key():
    hidden_names, hidden_helpers, public_helpers = set(), set(), set()
    for path in (ROOT / "autograder" / "tests").glob("q*.py"):
        for m in re.finditer(r"hidden=True\)\ndef (\w+)", path.read_text()):
            hidden_names.add(m.group(1))
        for fn in ast.parse(path.read_text()).body:
            if isinstance(fn, ast.FunctionDef):
                inner = {n.name for n in ast.walk(fn) if isinstance(n, ast.FunctionDef) and n is not fn}
                (hidden_helpers if fn.name in hidden_names else public_helpers).update(inner)
    assert len(hidden_names) >= 9
    hidden_helpers -= public_helpers  # check functions only hidden tests use: q7's answer key among them
    assert {"incident_techniques", "mapping_credit", "answer_key", "ioc_found"} <= hidden_helpers
    secrets = [TRUTH["attacker_user"], TRUTH["attacker_access_key"], *TRUTH["attacker_ips"],
               TRUTH["created_access_key"], TRUTH["sensitive_bucket"], TRUTH["role_session"],
               TRUTH["role_session_access_key"], TRUTH["attacker_region"],
               TRANSFER["principal"], TRANSFER["access_key"], *TRANSFER["objects"]]
    for path in sorted((ROOT / "assignment").rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(ROOT / "assignment").as_posix()
        assert path.suffix in {".ipynb", ".csv"} or rel in {"README.md", "requirements.txt", "data/transfer/LICENSE",
                                                            "data/transfer/NOTICE.md"} or (
            rel.startswith("data/variants/v") and path.suffix == ".zip"), f"unexpected file in assignment/: {path}"
        if path.suffix == ".zip":  # a variant's two logs, nothing else (the answer keys stay in autograder/)
            with zipfile.ZipFile(path) as zf:
                assert sorted(zf.namelist()) == ["cloud_api.csv", "cloud_iam.csv"], path
            continue
        if path.suffix == ".csv":
            continue
        text = _notebook_text(path)
        for secret in secrets:
            assert secret not in text, f"{path.name} mentions {secret!r} from the answer key"
        if path.suffix != ".ipynb":
            continue
        assert "hidden=True" not in text, path
        for name in hidden_names:
            assert name not in text, f"{path.name} holds the hidden test {name}"
        for name in hidden_helpers:
            assert f"def {name}(" not in text, f"{path.name} holds {name}, which only hidden tests use"
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
    for q in ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"]:
        assert f'grader.check("{q}")' in sources
    assert "grader.check_all()" in sources
    assert sources[-1] == EXPORT_CODE and "grader.export(pdf=False, force_save=True, run_tests=True)" in sources[-1]
    answers = [c.source for c in nb.cells if "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    assert answers and all("..." in s or "Replace this text" in s for s in answers)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tests = nb.metadata["otter"]["tests"]
    assert set(tests) == {"q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"}


def test_hints_have_one_source():
    hints = load_hints(ROOT / "solutions" / "hints.yaml")
    student = nbformat.read(STUDENT_NB, as_version=4)
    helpnb = nbformat.read(HELP_NB, as_version=4)
    student_md = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    help_md = "\n".join(c.source for c in helpnb.cells if c.cell_type == "markdown")
    help_code = [c.source for c in helpnb.cells if c.cell_type == "code"]
    ids = [c.id for c in helpnb.cells]
    for s in hints["sections"] + hints["extra_sections"]:
        n = s["number"]
        assert f"help-{n}" in ids
        assert f"(scenario03b-help.ipynb#cell-id=help-{n})" in student_md
        for key in ("hint1", "hint2"):
            assert s[key].strip() in student_md and _letters(s[key]) in _letters(help_md)
        assert s["reveal"].rstrip("\n") in help_code
    for s in hints["stretch"]:
        assert s["hint1"].strip() in student_md
    assert student_md.count("<details><summary>First hint</summary>") == 12
    assert "<!-- hints" not in student_md


def _letters(text: str) -> str:
    """What a hint shows, from its markdown or its HTML: no tags, no markup, no spaces."""
    shown = html.unescape(re.sub(r"<[^>]+>", "", text))
    return "".join(re.sub(r"[`*]|^\s*- ", "", shown, flags=re.M).split())


def test_help_notebook_structure_and_verbatim_reveals():
    """Per section: its heading alone in a cell (id help-N, which the student notebook links to), its goal
    with the two hints folded in <details> blocks (never saved open), then the reveal under a heading cell
    that JupyterLab shows collapsed, hiding the cells under it up to the next section."""
    helpnb = nbformat.read(HELP_NB, as_version=4)
    hints = load_hints(ROOT / "solutions" / "hints.yaml")
    cells = {c.id: c for c in helpnb.cells}
    assert [c.id for c in helpnb.cells[:2]] == ["help-intro", "help-setup"]
    sections = hints["sections"] + hints.get("extra_sections", [])
    for s in sections:
        n = s["number"]
        first = [c.id for c in helpnb.cells].index(f"help-{n}")
        note = s.get("reveal_note", "").strip()
        section = [(c.id, c.cell_type, c.source, dict(c.metadata)) for c in helpnb.cells[first:first + 4 + bool(note)]]
        # the text cell: the goal, then each hint on one line (its source as short as what it shows)
        goal, *folded = cells[f"help-{n}-text"].source.split("\n")
        assert goal == f"**Goal:** {s['goal'].strip()}"
        assert [re.match(r"<details><summary>(.*?)</summary>", f)[1] for f in folded] == ["First hint", "Second hint"]
        for line, hint in zip(folded, (s["hint1"], s["hint2"]), strict=True):
            assert line.endswith("</details>") and line.count("<details>") == 1
            assert _letters(line.split("</summary>")[1]) == _letters(hint)
        assert section == [x for x in [
            (f"help-{n}", "markdown", f"## {n}. {s['title']}", {}),
            (f"help-{n}-text", "markdown", cells[f"help-{n}-text"].source, {}),
            (f"help-{n}-reveal", "markdown", "### Reveal (optional)", {"jp-MarkdownHeadingCollapsed": True}),
            (f"help-{n}-reveal-note", "markdown", note, {}) if note else None,
            (f"help-{n}-reveal-code", "code", s["reveal"].rstrip("\n"), {}),
        ] if x]
        # a heading in the note would end the collapsed part early; one in a hint would break its block
        assert not any(re.match(r"#{1,3} ", line) for line in (s["hint1"] + s["hint2"] + note).splitlines())
        assert "details>" not in s["hint1"] + s["hint2"]
    assert len(cells) == 2 + sum(4 + bool(s.get("reveal_note", "").strip()) for s in sections)
    assert [c.id for c in helpnb.cells if re.fullmatch(r"help-\w+", c.id)][2:] == [
        "help-1", "help-2", "help-3", "help-4", "help-5", "help-6", "help-6b", "help-7", "help-8", "help-8b"]


# The course author's original help notebook, kept as they wrote it: the source of the wording.
ORIGINAL = ROOT / "tests" / "fixtures" / "help_notebook_original.md"


def _original_sections() -> dict[int, dict[str, str]]:
    """Goal, first hint, second hint and reveal code of each section of the original help notebook."""
    text = ORIGINAL.read_text(encoding="utf-8")
    out = {}
    for m in re.finditer(r"^## (\d)\. .*?(?=^## \d\. |\Z)", text, re.M | re.S):
        block = m.group(0)

        def part(a, b, block=block):
            return re.search(a + r"\n(.*?)\n" + b, block, re.S).group(1).strip()

        out[int(m.group(1))] = {
            "goal": re.search(r"\*\*Goal:\*\* (.*)", block).group(1).strip(),
            "hint1": part(r"### First Hint", r"### Second Hint"),
            "hint2": part(r"### Second Hint", r"### Reveal"),
            "reveal": block.split("In [None]:", 1)[1].strip(),
        }
    return out


def test_help_keeps_the_original_wording_and_makes_reveals_paste_ready():
    """Goals and hints start with the original's words (a sentence may follow); each reveal holds the
    original's lines in order, plus only what makes it paste-ready."""
    original = _original_sections()
    hints = {s["number"]: s for s in load_hints(ROOT / "solutions" / "hints.yaml")["sections"]}
    assert sorted(original) == list(range(1, 9)) and set(original) <= set(hints)
    flat = lambda t: " ".join(t.split())  # noqa: E731
    added = {
        1: ["cloud_iam_df = pd.read_csv('data/cloud_iam.csv')", "cloud_api_df = pd.read_csv('data/cloud_api.csv')"],
        7: ["mitre_techniques = example_mitre"],
        8: ["triage_summary = example_summary"],
    }
    for n, want in original.items():
        for key in ("goal", "hint1", "hint2"):
            assert flat(hints[n][key]).startswith(flat(want[key])), f"section {n} {key} lost the original wording"
        lines = hints[n]["reveal"].rstrip("\n").split("\n")
        orig = want["reveal"].split("\n")
        kept = [ln for ln in lines if ln in orig]
        assert kept == orig, f"reveal {n} lost or reordered the original's lines"
        assert [ln for ln in lines if ln not in orig] == added.get(n, []), f"reveal {n} adds other lines"


def _exact_minutes() -> float:
    from datetime import datetime

    start, end = (datetime.strptime(TRUTH[k], "%Y-%m-%dT%H:%M:%SZ")
                  for k in ("privilege_change_time", "first_sensitive_getobject_time"))
    return (end - start).total_seconds() / 60


def test_stretch_tests_agree_with_the_answer_key():
    assert all(_run_tests("q9", {"compromised_user": TRUTH["attacker_user"], "attacker_ip": ip}).values()
               for ip in TRUTH["attacker_ips"])
    assert not all(_run_tests("q9", {"compromised_user": "svc-backup", "attacker_ip": "192.0.2.10"}).values())
    assert not all(_run_tests("q10", {"minutes_to_exfil": str(TRUTH["minutes_to_exfil"])}).values())


def test_q10_accepts_the_true_minutes_within_one():
    """Centred on the exact time from the data (10.65 minutes in this data set), not on whole minutes."""
    true = _exact_minutes()
    assert true != int(true)  # the data's own value is not a whole number of minutes
    for minutes, passed in ((true, True), (true - 0.99, True), (true + 0.99, True), (true - 1.01, False),
                            (true + 1.01, False), (true + 5, False)):
        assert _run_tests("q10", {"minutes_to_exfil": minutes})["q10 - 2"] is passed, minutes


def _q11_points(iocs) -> float:
    from otter.test_files.exception_test import ExceptionTestFile

    tf = ExceptionTestFile.from_file(str(ROOT / "autograder" / "tests" / "q11.py"))
    tf.run({"iocs": iocs})
    return tf.score


KEY_IOCS = {
    "principals": TRUTH["attacker_principals"],
    "access_keys": [TRUTH["attacker_access_key"], TRUTH["role_session_access_key"], TRUTH["created_access_key"]],
    "source_ips": TRUTH["attacker_ips"],
    "regions": [TRUTH["attacker_region"]],
    "buckets": [TRUTH["sensitive_bucket"]],
}


@pytest.mark.parametrize("change, points", [
    ({}, 4),
    ({"principals": [TRUTH["attacker_user"]]}, 3.5),  # right, not complete
    ({"principals": KEY_IOCS["principals"] + ["m.lindqvist"]}, 3.5),  # complete, one wrong
    ({"principals": [p.split("/")[0] for p in KEY_IOCS["principals"]]}, 4),  # the role's name for its session
    ({"access_keys": []}, 3),
    ({"source_ips": KEY_IOCS["source_ips"][:1]}, 3.5),
    ({"regions": [TRUTH["attacker_region"], "us-east-1"]}, 3.5),
    ({"buckets": [TRUTH["sensitive_bucket"].upper()]}, 4),  # bucket names are compared without case
    ({"buckets": [TRUTH["sensitive_bucket"], "halyard-datalake-curated"]}, 4),  # listed by the intruder too
    ({"buckets": ["halyard-app-assets"]}, 3.5),
    ({"principals": [], "access_keys": [], "source_ips": [], "regions": [], "buckets": []}, 0),
])
def test_q11_grades_each_kind_against_the_key(change, points):
    assert _q11_points({**KEY_IOCS, **change}) == points


def test_q11_public_tests_check_shape_and_the_logs_only():
    def public(iocs):
        res = _run_tests("q11", {"iocs": iocs})
        return res["q11 - 1"], res["q11 - 2"]

    assert public(KEY_IOCS) == (True, True)
    wrong_but_in_logs = {"principals": ["j.okafor"], "access_keys": [], "source_ips": [], "regions": ["us-east-1"],
                         "buckets": ["halyard-app-assets"]}
    assert public(wrong_but_in_logs) == (True, True)  # whether they are the intruder's is for grading
    assert public({**KEY_IOCS, "source_ips": ["203.0.113.999"]}) == (True, False)
    assert public({**KEY_IOCS, "users": []}) == (False, False)
    assert public(list(KEY_IOCS)) == (False, False)


def test_answer_keys_come_from_the_data_and_no_test_holds_one():
    from ctlab.build.answer_key import hidden_key

    key = hidden_key(data=ROOT / "data")
    assert key["minutes_to_exfil"] == pytest.approx(_exact_minutes())
    assert key["iocs"]["principals"]["required"] == sorted(TRUTH["attacker_principals"])
    assert key["iocs"]["buckets"]["accepted"] == ["halyard-backups-eu-central-1", "halyard-datalake-curated"]
    keys = json.loads((ROOT / "autograder" / "answer_keys.json").read_text())
    assert keys["v01"] == key  # read by the hidden tests at grading time, from the student's own variant
    tests = "".join(p.read_text() for p in (ROOT / "autograder" / "tests").glob("q*.py"))
    for k in keys.values():  # no answer of any variant is written into a test file
        values = [k["compromised_user"], repr(k["minutes_to_exfil"]), *k["attacker_ips"],
                  *k["iocs"]["access_keys"]["required"], *k["iocs"]["buckets"]["required"]]
        assert not [v for v in values if v in tests]
    master = MASTER_NB.read_text()
    for value in (TRUTH["attacker_user"], TRUTH["created_access_key"], *TRUTH["attacker_ips"]):
        assert value not in master.split("# BEGIN TESTS")[1], value  # no data-derived value written into a test


def _q7_tables() -> tuple[dict, dict]:
    """The part-7 table and the answer key ({"core": ..., "evidenced": ...}) as q7's tests hold them."""
    tree = ast.parse((ROOT / "autograder" / "tests" / "q7.py").read_text())
    dicts = [ast.literal_eval(n) for n in ast.walk(tree)
             if isinstance(n, ast.Dict) and all(isinstance(k, ast.Constant) for k in n.keys)]
    table = next(d for d in dicts if len(d) > 10)
    key = next(d for d in dicts if set(d) == {"core", "evidenced"})
    return table, key


def _q7_score(ids) -> float:
    results = _run_tests("q7", {"mitre_techniques": ids})
    return sum(0.5 for passed in results.values() if passed)


def test_attack_table_and_key():
    table, key = _q7_tables()
    assert list(table) == sorted(table, key=lambda t: tuple(int(p) for p in t[1:].split(".")))  # ID order
    assert set(key["evidenced"]) <= set(table)
    assert "T1685.002" in table and "T1562.008" in table
    # the key's techniques all exist and are evidenced; the core behaviours are the key's required ones
    assert {t["id"] for t in TRUTH["techniques"]} <= set(key["evidenced"])
    assert key["core"] == TRUTH["required_techniques"] and set(key["core"]) <= set(key["evidenced"])
    student_md = "\n".join(c.source for c in nbformat.read(STUDENT_NB, as_version=4).cells if c.cell_type == "markdown")
    shown = re.findall(r"^\| `(T\d{4}(?:\.\d{3})?)` \| (.+) \|$", student_md, re.M)
    assert shown == list(table.items())
    assert "listing the whole table earns\nat most 1.5" in student_md


KEY = [t["id"] for t in TRUTH["techniques"]]
TABLE = list(_q7_tables()[0]) if (ROOT / "autograder" / "tests" / "q7.py").is_file() else []


@pytest.mark.parametrize("ids, points", [
    # full marks: the reveal answer, the key, and the same answers written differently
    (["T1078", "T1098", "T1530"], 3),
    (KEY, 3),
    ((" t1078.004", "T1098.001 ", "t1530"), 3),  # trimmed, any case, a tuple, sub-techniques
    (["T1078", "T1078", "t1078", "T1098", "T1530"], 3),  # repeats count once
    (["T1078.004", "T1087.004", "T1098.001", "T1098.003", "T1556.006", "T1535", "T1580", "T1619", "T1530"], 3),
    # padding: 2.5 x coverage x precision, rounded down to 0.5, plus 0.5 for a well-formed list
    (TABLE, 1.5),  # 3/3 x 22/42: 1.31 -> 1
    (TABLE[:21], 1.0),  # first half (T1059.009 ... T1528): 2/3 x 11/21: 0.87 -> 0.5
    (TABLE[21:], 0.5),  # second half (T1530 ... T1685.002): 1/3 x 11/21: 0.44 -> 0
    (["T1078", "T1098", "T1530", "T1486"], 2.0),  # exists, not this incident: 3/4 -> 1.875
    (KEY + ["T1486"], 2.5),  # one of twelve: 11/12 -> 2.29
    (["T1078", "T1098", "T1530", "T1234"], 1.5),  # not in the table: the public test fails too
    (["T1078.001", "T1098", "T1530"], 1.5),  # Default Accounts: no evidence, covers nothing
    # coverage: each core behaviour is a third of 2.5
    (["T1078", "T1098"], 2.0),
    (["T1078"], 1.0),
    (["T1087.004", "T1580"], 0.5),  # evidenced, but no core behaviour
    # not an answer
    (["T1078 Valid Accounts", "T1098", "T1530"], 1.0),  # not an ID: the public test, and precision 2/3
    (["T9999"], 0),
    ([], 0),
    (["Valid Accounts", "persistence"], 0),
    ("T1078", 0),
    ([1078, 1098], 0),
])
def test_q7_scoring_rule(ids, points):
    assert _q7_score(ids) == points


def test_q7_whole_table_earns_at_most_half():
    table = list(_q7_tables()[0])
    assert _q7_score(table) <= 1.5
    assert _q7_score(table + ["T9999", "T1234.567"]) <= 1.5
    assert _q7_score([t.lower() for t in reversed(table)]) == _q7_score(table)


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


# --- the check functions: one copy in solutions/checks.py, copied into each test at build time --------

def _global_reads(source: str) -> dict[str, set[str]]:
    """{top-level function: the names it (or anything nested in it) reads from the global scope}."""
    def reads(table):
        names = {s.get_name() for s in table.get_symbols() if s.is_global()}
        for child in table.get_children():
            names |= reads(child)
        return names

    module = symtable.symtable(source, "<test>", "exec")
    return {t.get_name(): reads(t) - set(dir(builtins)) for t in module.get_children() if t.get_type() == "function"}


def _check_names() -> set[str]:
    tree = ast.parse(CHECKS.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def _master_test_sources() -> list[str]:
    master = nbformat.read(MASTER_NB, as_version=4)
    sources, inside = [], False
    for cell in master.cells:
        if cell.cell_type == "raw" and re.match(r"#\s*BEGIN\s+TESTS", cell.source, re.I):
            inside = True
        elif cell.cell_type == "raw" and re.match(r"#\s*END\s+TESTS", cell.source, re.I):
            inside = False
        elif inside and cell.cell_type == "code":
            sources.append(cell.source)
    return sources


def test_master_tests_call_checks_by_name_and_never_copy_them():
    names = _check_names()
    sources = _master_test_sources()
    assert len(sources) >= 30
    used = set()
    for src in sources:
        for fn, reads in _global_reads(src).items():
            missing = reads - names
            assert not missing, f"{fn} uses {sorted(missing)}, which solutions/checks.py does not define"
            used |= reads
    assert {"ids_of", "rows_of", "log", "base", "ref_susp_iam", "strings", "technique_ids"} <= used
    reached = set(load_checks(CHECKS).closure(used & names))  # directly or through another check function
    assert not names - reached, f"check functions no test uses: {sorted(names - reached)}"
    master = nbformat.read(MASTER_NB, as_version=4)
    for i, cell in enumerate(master.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        assert not defined & names, f"master cell {i} defines {sorted(defined & names)}: keep the one copy in checks.py"


def test_checks_module_is_plain():
    tree = ast.parse(CHECKS.read_text())
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef)
    assert all(isinstance(n, allowed) for n in tree.body[1:]), "checks.py holds only imports and functions"
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                top = (getattr(node, "module", None) or alias.name).split(".")[0]
                assert top in {"pandas", "numpy"} | set(__import__("sys").stdlib_module_names), top
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        assert ast.get_docstring(fn), f"checks.py: {fn.name} has no docstring"


def test_generated_tests_run_on_their_own():
    """Every test function of autograder/tests and of the student notebook reads no global name."""
    student = nbformat.read(STUDENT_NB, as_version=4)
    files = {p.name: p.read_text() for p in sorted((ROOT / "autograder" / "tests").glob("q*.py"))}
    files |= {f"student:{q}": text for q, text in student.metadata["otter"]["tests"].items()}
    names = _check_names()
    inlined = set()
    for where, text in files.items():
        for fn, reads in _global_reads(text).items():
            assert not reads, f"{where}: {fn} reads {sorted(reads)} from outside the test"
        inner = {n.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)}
        inlined |= inner & names
    assert {"ids_of", "rows_of", "technique_ids", "attack_techniques"} <= inlined
    # the public q7 test in the student notebook carries its own copy of the ATT&CK table
    assert "def attack_techniques" in student.metadata["otter"]["tests"]["q7"]


def _one_test_notebook(source: str) -> nbformat.NotebookNode:
    v4 = nbformat.v4
    return v4.new_notebook(cells=[
        v4.new_raw_cell("# BEGIN TESTS"), v4.new_code_cell(source), v4.new_raw_cell("# END TESTS"),
        v4.new_code_cell("def outside():\n    return helper()"),
    ])


def test_inline_checks_copies_exactly_what_a_test_uses(tmp_path):
    (tmp_path / "checks.py").write_text(
        '"""doc"""\nimport pandas as pd\n\n\n'
        'def inner(x):\n    """Doc."""\n    return pd.Series(x)\n\n\n'
        'def helper(x):\n    """Doc."""\n    # a comment\n    return inner(x).sum()\n\n\n'
        'def unused():\n    """Doc."""\n    return 1\n'
    )
    checks = load_checks(tmp_path / "checks.py")
    assert isinstance(checks, Checks) and checks.closure({"helper"}) == ["inner", "helper"]
    cell = '""" # BEGIN TEST CONFIG\npoints: 1\n""" # END TEST CONFIG\ndef test_a(v):\n    assert helper([v]) == v\ntest_a(v)'
    nb = inline_checks(_one_test_notebook(cell), checks, source="m.ipynb")
    out = nb.cells[1].source
    assert out.startswith('""" # BEGIN TEST CONFIG\npoints: 1\n""" # END TEST CONFIG\ndef test_a(v):\n    import pandas as pd\n')
    assert "def inner" in out and "def helper" in out and "def unused" not in out and "Doc." not in out
    assert nb.cells[3].source == "def outside():\n    return helper()"  # only test cells change
    env: dict = {}
    exec(out.rsplit("\n", 1)[0], env)  # without the call
    env["test_a"](3)
    assert find_test_cells(nb) == [1]

    with pytest.raises(CtlabError, match=r"cell 1: test_a uses nowhere, which .*checks.py does not define"):
        inline_checks(_one_test_notebook("def test_a(v):\n    assert nowhere(v)"), checks, source="m.ipynb")
    with pytest.raises(CtlabError, match=r"test_a defines helper, which .*checks.py provides"):
        inline_checks(_one_test_notebook("def test_a(v):\n    def helper(x):\n        return x\n    assert helper(v)"),
                      checks, source="m.ipynb")
    with pytest.raises(CtlabError, match=r"binds pd to something else"):
        inline_checks(_one_test_notebook("def test_a(v):\n    import numpy as pd\n    assert helper(v)"), checks,
                      source="m.ipynb")
    (tmp_path / "checks.py").write_text('def helper(x):\n    return undefined_thing(x)\n')
    with pytest.raises(CtlabError, match=r"checks.py: helper uses undefined_thing"):
        load_checks(tmp_path / "checks.py")
    (tmp_path / "checks.py").write_text('LIMIT = 3\n')
    with pytest.raises(CtlabError, match=r"checks.py: line 1: only imports and undecorated functions"):
        load_checks(tmp_path / "checks.py")


def test_build_reports_a_missing_check_function(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    text = (tmp_path / "solutions" / "checks.py").read_text()
    (tmp_path / "solutions" / "checks.py").write_text(text.replace("def wanted(", "def wanted_renamed("))
    with pytest.raises(CtlabError, match=r"scenario03b.ipynb: cell \d+: test_q4_no_extra uses wanted, "
                                         r"which .*checks.py does not define"):
        build(root=tmp_path)
    assert not (tmp_path / "assignment").exists()


# --- what the public tests tell students: one exact message per mistake ------------------------------

@pytest.fixture(scope="module")
def right():
    from ctlab.reveal import PROJECT_HINTS, run_reveals

    # parts 1-6 as the help notebook reveals them; the rest only need the right shape
    answers = run_reveals(hints=PROJECT_HINTS, data_dir=ROOT / "data", questions=["q1", "q2", "q3", "q5", "q6"])
    return {**answers, "mitre_techniques": ["T1078"], "minutes_to_exfil": 10.0, "compromised_user": "x",
            "attacker_ip": "192.0.2.1", "iocs": KEY_IOCS}


def _public_message(question: str, env: dict) -> str:
    from otter.test_files.exception_test import ExceptionTestFile

    from ctlab.report.feedback import clean_message

    tf = ExceptionTestFile.from_file(str(ROOT / "autograder" / "tests" / f"{question}.py"))
    tf.run(env)
    failed = [r for r in tf.test_case_results if not r.test_case.hidden and not r.passed]
    return clean_message(failed[0].message) if failed else "passed"


HEAD = ("holds 50 of the {n_iam} rows of data/cloud_iam.csv: load the whole file in part 1 (no .head(), nrows or filter); "
        "the answers are graded against all of it")


@pytest.mark.parametrize("question, mistake, message", [
    ("q1", lambda r: {"cloud_iam_df": r["cloud_iam_df"].head(50)}, "cloud_iam_df " + HEAD),
    ("q1", lambda r: {"cloud_iam_df": None}, "cloud_iam_df is not defined (or is None): run the cell that sets it"),
    ("q1", lambda r: {"cloud_iam_df": ...}, "cloud_iam_df is still ...: replace the ... with your answer"),
    ("q1", lambda r: {"cloud_iam_df": r["cloud_iam_df"]["user"]},
     "cloud_iam_df is a pandas Series (the column 'user'), not a DataFrame: keep whole rows, not one column"),
    ("q3", lambda r: {"cloud_iam_df": r["cloud_iam_df"].head(50), "susp_iam": r["susp_iam"][r["susp_iam"].index < 50]},
     "cloud_iam_df " + HEAD),
    ("q3", lambda r: {"susp_iam": r["cloud_iam_df"]["event_name"].isin(TRUTH["suspicious_iam_event_names"])},
     "susp_iam is a boolean Series (a mask), not a DataFrame: select the rows with it, frame[mask]"),
    ("q5", lambda r: {"related_api": r["related_api"].merge(r["susp_iam"][["user", "event_id"]], on="user")},
     "related_api has the columns ['event_id_x', 'event_id_y'] but no event_id: it looks like the result of a merge; "
     "select rows of one frame instead (for example with .isin)"),
    ("q5", lambda r: {"actors": ["d.whitfield"]}, "actors lacks {users_but_1} users of susp_iam"),
    ("q6", lambda r: {"susp_users": ["d.whitfield", "j.okafor"]},
     "susp_users lacks {users_but_2} of the {users} users of susp_iam: list every user behind the suspicious IAM events "
     "(narrowing them down to the intruder is the IOC question's job)"),
    ("q6", lambda r: {"susp_users": r["susp_users"]}, "passed"),
    ("q7", lambda r: {"mitre_techniques": ["Valid Accounts"]},
     'mitre_techniques holds "Valid Accounts", which is not an ATT&CK technique ID: write IDs like T1234 or T1234.001'),
    ("q7", lambda r: {"mitre_techniques": ["T1078", " t9999"]},
     'mitre_techniques holds " t9999", not in the table of ATT&CK techniques of part 7'),
    ("q9", lambda r: {"compromised_user": None}, "compromised_user is not defined (or is None): run the cell that sets it"),
    ("q10", lambda r: {"minutes_to_exfil": __import__("pandas").Timedelta(minutes=10.65)},
     "minutes_to_exfil is a Timedelta (0 days 00:10:39), not a number of minutes: use .total_seconds() / 60"),
    ("q10", lambda r: {"minutes_to_exfil": -3},
     "minutes_to_exfil is -3: the download came after the privilege change, so it should not be negative"),
    ("q11", lambda r: {"iocs": {**KEY_IOCS, "source_ips": ["203.0.113.74"]}},
     'iocs["source_ips"] holds "203.0.113.74", which occurs nowhere in the logs (source_ip): copy values as the logs write them'),
    ("q11", lambda r: {"iocs": {k: v for k, v in KEY_IOCS.items() if k != "buckets"}},
     "iocs lacks the kinds buckets: give each kind a list (an empty one if you found none)"),
    ("q11", lambda r: {"iocs": None}, "iocs is not defined (or is None): run the cell that sets it"),
])
def test_public_messages(right, question, mistake, message):
    users = len(right["susp_users"])
    counts = {"n_iam": len(right["cloud_iam_df"]), "users": users, "users_but_1": users - 1, "users_but_2": users - 2}
    assert _public_message(question, {**right, **mistake(right)}) == message.format(**counts)


def test_build_imports_neither_the_grader_nor_the_reports():
    import subprocess
    import sys

    code = "import sys, ctlab.build.generate; print(' '.join(sorted(m for m in sys.modules if m.startswith('ctlab'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "ctlab.build.autograder_zip" in loaded
    assert not [m for m in loaded if m.startswith(("ctlab.report", "ctlab.grading", "ctlab.gradescope"))], loaded
