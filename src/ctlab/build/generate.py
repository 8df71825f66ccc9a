"""`ctlab build`: regenerate assignment/ and autograder/ from solutions/ and data/.

The build itself lives here rather than in the package's __init__, so that importing a light
sibling (ctlab.build.sources, ctlab.build.answer_key) does not import nbformat, otter and jinja2.

Expands the master notebook's hint markers (from solutions/hints.yaml) and copies into each of its test
functions the check functions of solutions/checks.py that the test uses, so that every generated test
runs on its own. Then runs otter assign on it (which also runs every test, hidden ones included, against
the reference solution and fails the build if one does not pass), and writes, reproducibly:

    assignment/scenario03b.ipynb           student notebook (no outputs, public tests only)
    assignment/scenario03b-help.ipynb      help notebook (from solutions/hints.yaml)
    assignment/data/cloud_{iam,api}.csv    the data the notebooks read
    assignment/data/transfer/              part 8b's second account: its two CSVs, LICENSE and NOTICE.md
    assignment/requirements.txt            the kernel's packages at the grader's versions (from pyproject.toml)
    assignment/README.md                   students' set-up, open and submit instructions
    autograder/scenario03b-autograder.zip  otter autograder (Gradescope format, pinned requirements),
                                           with ctlab's own run_autograder, setup.sh and source
    autograder/tests/q*.py                 every test, hidden ones included
    autograder/rubric.md                   the rubric of the manually graded part 8
    autograder/manifest.json               questions, points and tests (public/hidden), and the variant settings
    assignment/data/variants/vNN.zip       with N > 1 variants: each variant's two CSVs, for the set-up cell
    autograder/answer_keys.json            each variant's answer key, which the hidden tests read at grading time

With `--variants N` (recorded in the manifest, so a later `ctlab build` repeats it) each student gets one
of N weeks, chosen by the STUDENT_ID they type (see ctlab.variants); the data of variants 2..N is made
under data/variants/ from their seeds when missing (ctlab.build.variant_data).

Same inputs give byte-identical outputs: zip entries are sorted with fixed timestamps and modes, and
notebooks are stripped of outputs and volatile metadata and get stable cell ids.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ctlab import atomic, variants
from ctlab.build import handout, sources, variant_data
from ctlab.build.answer_key import hidden_key, week_key
from ctlab.build.autograder_zip import gradescope_entries, zip_bytes
from ctlab.build.notebooks import (
    HELP_NOTEBOOK,
    dumps,
    expand_hint_markers,
    help_notebook,
    inline_checks,
    load_checks,
    load_hints,
    normalize,
    submission_cells,
)
from ctlab.errors import CtlabError

NAME = "scenario03b"
MASTER = Path("solutions") / f"{NAME}.ipynb"
HINTS = Path("solutions") / "hints.yaml"
CHECKS = Path("solutions") / "checks.py"
RUBRIC = Path("solutions") / "rubric.md"
DATA_FILES = ("cloud_iam.csv", "cloud_api.csv")
# Part 8b's recorded incident (data/transfer/, see its SOURCE.md): handed out with its licence, in
# its own folder under data/ so that the notebook, both grading phases and Gradescope see it where
# they see the exercise's logs. Its answer key and raw export stay behind.
TRANSFER = "transfer"
TRANSFER_FILES = ("cloud_iam.csv", "cloud_api.csv", "LICENSE", "NOTICE.md")
ZIP_NAME = f"{NAME}-autograder.zip"


@dataclass
class BuildSummary:
    root: Path
    written: list[tuple[str, int, bool]] = field(default_factory=list)  # (path, bytes, changed)
    removed: list[str] = field(default_factory=list)
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe(self) -> str:
        changed = sum(1 for _, _, c in self.written if c)
        lines = [f"built {len(self.written)} files under {self.root} ({changed} changed, {len(self.removed)} removed)"]
        for path, size, was_changed in self.written:
            lines.append(f"  {'*' if was_changed else ' '} {path} ({size:,} bytes)")
        for path in self.removed:
            lines.append(f"  - {path} (stale, removed)")
        total = sum(q["points"] for q in self.questions.values())
        auto = sum(q["points"] for q in self.questions.values() if not q["manual"])
        lines.append(f"questions: {len(self.questions)}, {total:g} points ({auto:g} autograded)")
        for q, info in self.questions.items():
            public = sum(t["points"] for t in info["tests"] if not t["hidden"])
            hidden = sum(t["points"] for t in info["tests"] if t["hidden"])
            kind = "manual" if info["manual"] else f"public {public:g} + hidden {hidden:g}"
            lines.append(f"  {q}: {info['points']:g} points ({kind})")
        return "\n".join(lines)


def _require(path: Path) -> Path:
    if not path.is_file():
        raise CtlabError(f"{path}: missing (needed by ctlab build)")
    return path


def _run_otter_assign(workdir: Path) -> Path:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    cmd = [sys.executable, "-m", "otter", "assign", "--no-pdfs", f"{NAME}.ipynb", "dist"]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip() and "WARNING" not in ln]
        last = lines[-1] if lines else f"exit status {proc.returncode}"
        raise CtlabError(f"{MASTER}: otter assign failed: {last}")
    return workdir / "dist"


def _assignment_config(master: nbformat.NotebookNode) -> dict[str, Any]:
    """The master's `# ASSIGNMENT CONFIG` raw cell, parsed."""
    import yaml

    for cell in master.cells:
        src = cell.source.lstrip()
        if cell.cell_type == "raw" and src.upper().startswith("# ASSIGNMENT CONFIG"):
            cfg = yaml.safe_load(src)
            if isinstance(cfg, dict):
                return cfg
    raise CtlabError(f"{MASTER}: no '# ASSIGNMENT CONFIG' cell")


def _manifest(tests: dict[str, bytes], master: nbformat.NotebookNode) -> dict[str, dict[str, Any]]:
    from otter.test_files.exception_test import ExceptionTestFile

    questions: dict[str, dict[str, Any]] = {}
    for cell in master.cells:  # question order and manual flags come from the master's config cells
        src = cell.source.lstrip()
        if cell.cell_type == "raw" and src.upper().startswith("# BEGIN QUESTION"):
            import yaml

            cfg = yaml.safe_load("\n".join(src.splitlines()[1:])) or {}
            questions[cfg["name"]] = {"points": cfg.get("points", 1), "manual": bool(cfg.get("manual")), "tests": []}
    for q, text in tests.items():
        tf = ExceptionTestFile.from_string(text.decode("utf-8"), path=f"tests/{q}.py")
        questions[q]["tests"] = [
            {"name": tc.name, "points": tc.points, "hidden": tc.hidden} for tc in tf.test_cases
        ]
    from ctlab.contract import question_order

    return {q: questions[q] for q in question_order(questions)}  # gradebook order, not notebook order


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write data to path atomically unless it already holds it; return whether it changed."""
    if path.is_file() and path.read_bytes() == data:
        return False
    atomic.write_bytes(path, data, mode=0o644)
    return True


def _read_master(root: Path) -> nbformat.NotebookNode:
    master_path = _require(root / MASTER)
    try:
        master: nbformat.NotebookNode = nbformat.read(master_path, as_version=4)  # type: ignore[no-untyped-call]  # nbformat's read has no annotations
        return master
    except Exception as exc:  # nbformat raises several kinds for a broken file
        raise CtlabError(f"{master_path}: not a readable notebook ({type(exc).__name__})") from None


def expanded_master(*, root: Path) -> nbformat.NotebookNode:
    """The master notebook as otter assign gets it: hint markers expanded, check functions copied in.

    Its test cells run on their own (the master's own test cells call the functions of
    solutions/checks.py by name), so this is also the notebook to execute to try the master.
    """
    from ctlab.reveal import with_reveals  # here: ctlab.reveal imports this package's notebooks module

    root = Path(root).resolve()
    master = _read_master(root)
    hints = load_hints(_require(root / HINTS))
    checks = with_reveals(load_checks(_require(root / CHECKS)), root / HINTS)
    source = str(root / MASTER)
    return inline_checks(expand_hint_markers(master, hints, source=source), checks, source=source)


def _with_student_id(student: nbformat.NotebookNode, settings: variants.Settings) -> nbformat.NotebookNode:
    """The student notebook with, before its first cell after otter's, the instruction, the cell holding
    exactly `STUDENT_ID = ""` and the set-up cell that checks it and puts the student's variant at data/."""
    v4: Any = nbformat.v4
    at = next(i for i, c in enumerate(student.cells) if c.cell_type == "code" and "otter.Notebook" not in c.source)
    locked = {"deletable": False, "editable": False}
    cells = [
        v4.new_markdown_cell(f"**Before part 1:** type {settings.id_words} between the quotes below, "
                             "run that cell and the one after it.", metadata=dict(locked)),
        v4.new_code_cell(f'{variants.ID_VARIABLE} = ""', metadata={"deletable": False}),
        v4.new_code_cell(variants.setup_code(count=settings.count, id_words=settings.id_words), metadata=dict(locked)),
    ]
    student.cells[at:at] = cells
    return student


def _answer_keys(root: Path, count: int) -> dict[str, Any]:
    """{vNN: the hidden tests' key} of every variant: its own week's, and part 8b's (data/transfer/),
    which is the same recorded incident for every variant."""
    keys = {variants.label(1): hidden_key(data=root / "data")}
    transfer = keys[variants.label(1)]["transfer"]
    with tempfile.TemporaryDirectory(prefix="ctlab-keys-") as tmp:
        for k in range(2, count + 1):
            week = week_key(data=variant_data.unpacked(root, k, Path(tmp) / variants.label(k)))
            keys[variants.label(k)] = {**week, "transfer": transfer}
    return keys


def render(*, root: Path, settings: variants.Settings | None = None) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
    """Produce every output file in memory: {relative path: bytes}, plus the question manifest.
    `settings`: the variants to build (default: what the last build recorded)."""
    root = Path(root).resolve()
    settings = settings or variants.recorded(root)
    master = _read_master(root)
    hints = load_hints(_require(root / HINTS))
    data = {name: _require(root / "data" / name).read_bytes() for name in DATA_FILES}
    data.update({f"{TRANSFER}/{name}": _require(root / "data" / TRANSFER / name).read_bytes() for name in TRANSFER_FILES})
    expanded = expanded_master(root=root)
    rubric = _require(root / RUBRIC).read_bytes()
    pyproject = root / "pyproject.toml"
    config = _assignment_config(master)
    handout.check_master_requirements(config.get("requirements", []), handout.project_pins(pyproject), where=str(MASTER))
    if settings.count > 1:
        variant_data.ensure(root=root, count=settings.count)
    keys = _answer_keys(root, settings.count)
    shipped = ({f"{variants.label(k)}.zip": variant_data.variant_zip(root, k) for k in range(1, settings.count + 1)}
               if settings.count > 1 else {})

    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="ctlab-build-") as tmp:
        work = Path(tmp)
        nbformat.write(expanded, work / f"{NAME}.ipynb")  # type: ignore[no-untyped-call]  # no annotations upstream
        (work / "data" / TRANSFER).mkdir(parents=True)
        for name, blob in data.items():
            (work / "data" / name).write_bytes(blob)
        if shipped:
            (work / "data" / "variants").mkdir()
            for name, blob in shipped.items():
                (work / "data" / "variants" / name).write_bytes(blob)
        # otter assign runs the hidden tests on the master's answers: variant 1's key (left out of the zip below)
        (work / "data" / variants.KEY_FILE).write_text(json.dumps(keys[variants.label(1)]), encoding="utf-8")
        dist = _run_otter_assign(work)

        student = nbformat.read(dist / "student" / f"{NAME}.ipynb", as_version=4)  # type: ignore[no-untyped-call]  # as above
        student = _with_student_id(student, settings)
        student.cells.extend(submission_cells())
        out[f"assignment/{NAME}.ipynb"] = dumps(normalize(student, prefix="cell"))
        zips = sorted((dist / "autograder").glob(f"{NAME}-autograder_*.zip"))
        if len(zips) != 1:
            raise CtlabError(f"{MASTER}: otter assign wrote {len(zips)} autograder zips, expected 1")
        with zipfile.ZipFile(zips[0]) as zf:
            entries = {name: zf.read(name) for name in zf.namelist()
                       if not name.endswith("/") and name != f"files/data/{variants.KEY_FILE}"}
    tests = {Path(n).stem: b for n, b in sorted(entries.items()) if n.startswith("tests/") and n.endswith(".py")}
    keys_json = (json.dumps(keys, indent=1, sort_keys=True) + "\n").encode()
    out[f"autograder/{ZIP_NAME}"] = zip_bytes({**entries, **gradescope_entries(project=root),
                                               variants.ANSWER_KEYS.name: keys_json})
    out[variants.ANSWER_KEYS.as_posix()] = keys_json
    for name, blob in shipped.items():
        out[f"{variants.SHIPPED.as_posix()}/{name}"] = blob
    out[f"assignment/{HELP_NOTEBOOK}"] = dumps(help_notebook(hints))
    for name, blob in data.items():
        out[f"assignment/data/{name}"] = blob
    out["assignment/requirements.txt"] = handout.requirements_txt(pyproject=pyproject)
    out["assignment/README.md"] = handout.readme(pyproject=pyproject, python=str(config.get("python_version", "3.11")),
                                                 student_id=settings.id_words, variants=settings.count)
    for q, blob in tests.items():
        out[f"autograder/tests/{q}.py"] = blob
    out["autograder/rubric.md"] = rubric
    questions = _manifest(tests, master)
    manifest = {"assignment": NAME, "total_points": sum(q["points"] for q in questions.values()), "questions": questions,
                "sources": sources.digests(root), "variants": settings.to_dict()}
    out["autograder/manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    return dict(sorted(out.items())), questions


def build(*, root: Path, count: int | None = None, id_words: str | None = None) -> BuildSummary:
    """Regenerate assignment/ and autograder/ under root; remove stale generated files.
    `count` variants and the words telling students which id to type: as given, else as recorded."""
    root = Path(root).resolve()
    if count is not None and count < 1:
        raise CtlabError(f"--variants must be at least 1, not {count}")
    if id_words is not None and not id_words.strip():
        raise CtlabError("--student-id-words must say what students type")
    last = variants.recorded(root)
    settings = variants.Settings(count=last.count if count is None else count,
                                 id_words=last.id_words if id_words is None else id_words.strip())
    files, questions = render(root=root, settings=settings)
    summary = BuildSummary(root=root, questions=questions)
    for rel, blob in files.items():
        changed = _write_if_changed(root / rel, blob)
        summary.written.append((rel, len(blob), changed))
    # generated folders hold only what this build writes
    for folder in ("assignment/data", f"assignment/data/{TRANSFER}", "assignment/data/variants", "autograder/tests"):
        for path in sorted((root / folder).glob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in files:
                path.unlink()
                summary.removed.append(rel)
    for pattern in ("assignment/*.ipynb", "assignment/*.txt", "assignment/*.md", "autograder/*.zip", "autograder/*.json"):
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root).as_posix()
            if rel not in files:
                path.unlink()
                summary.removed.append(rel)
    return summary
