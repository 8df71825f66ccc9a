"""The autograder's test files: where they are, what they hash to and what they grade.

The test files are otter exception-format files (autograder/tests/q*.py), parsed with otter's
own ExceptionTestFile; runner.py runs them against answer snapshots.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
from pathlib import Path
from typing import Any

from ctlab.errors import CtlabError

TestFile = Any  # otter's ExceptionTestFile (otter has no type hints)


@dataclasses.dataclass
class Autograder:
    root: Path
    test_paths: list[Path]
    data_dir: Path
    sha256: str  # tests and data: a result graded under another one is stale
    questions: list[str]  # gradebook columns, in order
    max_points: dict[str, float]
    variables: list[str]  # what phase 1 snapshots
    manual: frozenset[str]
    data_sha256: str = ""  # data only: what a notebook's run (phase 1) depends on


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """Where the tests and data are and what they hash to: enough to decide what needs grading,
    without the cost of loading the tests (which imports otter)."""
    root: Path
    test_paths: list[Path]
    data_dir: Path
    sha256: str  # tests and data
    data_sha256: str  # data only


def fingerprint(root: Path) -> Fingerprint:
    from ctlab import contract

    root = Path(root).resolve()
    tests_dir = root / "autograder" / "tests"
    if not tests_dir.is_dir():
        raise CtlabError(f"{tests_dir}: no autograder tests here (run `ctlab build` first, or pass --root)")
    by_name = {p.stem: p for p in tests_dir.glob("q*.py")}
    test_paths = [by_name[q] for q in contract.question_order(by_name)]
    if not test_paths:
        raise CtlabError(f"{tests_dir}: no q*.py test files")
    data_dir = root / "assignment" / "data"
    if not data_dir.is_dir() or not any(data_dir.glob("*.csv")):
        raise CtlabError(f"{data_dir}: the assignment's data files are missing")
    h, data_h = hashlib.sha256(), hashlib.sha256()
    for p in test_paths + [root / "autograder" / "answer_keys.json"] + sorted(data_dir.rglob("*")):
        if p.is_file():
            entry = str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0"
            h.update(entry)
            if p.is_relative_to(data_dir):
                data_h.update(entry)
    return Fingerprint(root, test_paths, data_dir, h.hexdigest(), data_h.hexdigest())


def load_autograder(root: Path, fp: Fingerprint | None = None) -> Autograder:
    from ctlab import contract

    fp = fp or fingerprint(root)
    test_paths = fp.test_paths
    files = [parse_test_file(p) for p in test_paths]
    questions = contract.question_order(set(contract.QUESTIONS) | {f.name for f in files})
    max_points: dict[str, float] = {q: 0.0 for q in questions}
    variables: list[str] = list(contract.ANSWER_VARIABLES)
    for f in files:
        max_points[f.name] = max_points.get(f.name, 0.0) + float(f.possible)
        for arg in file_params(f):
            if arg != "env" and arg not in variables:
                variables.append(arg)
    return Autograder(
        root=fp.root, test_paths=test_paths, data_dir=fp.data_dir, sha256=fp.sha256, data_sha256=fp.data_sha256,
        questions=questions, max_points=max_points, variables=variables,
        manual=contract.MANUAL_QUESTIONS,
    )


_COMPILED: dict[str, tuple[str, Any]] = {}  # path -> (its source, that source compiled)


def parse_test_file(path: Path) -> TestFile:
    """A fresh ExceptionTestFile for `path` (test files keep their last results on themselves).

    What otter's `from_file` does, but the source's compiled code is kept for as long as the file
    reads the same: the test process makes a fresh test file for every run of one, and compiling
    them was a tenth of the time of testing a submission."""
    from otter.test_files.exception_test import ExceptionTestFile

    try:
        source = Path(path).read_text()
        kept = _COMPILED.get(str(path))
        if kept is None or kept[0] != source:
            kept = _COMPILED[str(path)] = (source, ExceptionTestFile._compile_string(source, path=str(path)))
        tf = ExceptionTestFile._from_compiled_code(kept[1], path=str(path))
        tf.source = source
        return tf
    except Exception as exc:
        raise CtlabError(f"{path}: not a valid otter exception-format test file ({type(exc).__name__}: {exc})") from None


def case_params(tc: Any) -> list[str]:
    """The parameters of one test case's function: the variables it reads, or `env` for all of them."""
    return list(inspect.signature(tc.body.test_func).parameters)


def file_params(tf: TestFile) -> tuple[str, ...]:
    """The parameters of a test file's test cases, in order, each once."""
    names: list[str] = []
    for tc in tf.test_cases:
        names += [a for a in case_params(tc) if a not in names]
    return tuple(names)


def describe(ag: Autograder) -> dict[str, Any]:
    """What the grading process needs of an autograder, as JSON: sent by a trusted process."""
    return {"questions": ag.questions, "max_points": ag.max_points, "variables": ag.variables,
            "manual": sorted(ag.manual), "files": [str(parse_test_file(p).name) for p in ag.test_paths]}


def from_description(fp: Fingerprint, desc: dict[str, Any]) -> Autograder:
    """The Autograder a trusted process described (see `describe`), for the tests `fp` names."""
    try:
        questions = [str(q) for q in desc["questions"]]
        max_points = {str(q): float(v) for q, v in desc["max_points"].items()}
        variables = [str(v) for v in desc["variables"]]
        manual = frozenset(str(q) for q in desc["manual"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CtlabError(f"the test process described the autograder wrongly ({type(exc).__name__}: {exc})") from None
    return Autograder(root=fp.root, test_paths=fp.test_paths, data_dir=fp.data_dir, sha256=fp.sha256,
                      data_sha256=fp.data_sha256, questions=questions, max_points=max_points,
                      variables=variables, manual=manual)
