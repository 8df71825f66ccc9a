"""Phase 2 (trusted): run the otter test files against a loaded answer snapshot.

This runs in trusted processes of its own (trusted.py), which never execute submission
code. Each test file is parsed with otter's own ExceptionTestFile; each submission's values
are passed to it as the global environment, as `otter run` would.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from ctlab.errors import CtlabError


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
    for p in test_paths + sorted(data_dir.rglob("*")):
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
    files = [_parse(p) for p in test_paths]
    questions = contract.question_order(set(contract.QUESTIONS) | {f.name for f in files})
    max_points: dict[str, float] = {q: 0.0 for q in questions}
    variables: list[str] = list(contract.ANSWER_VARIABLES)
    for f in files:
        max_points[f.name] = max_points.get(f.name, 0.0) + float(f.possible)
        for tc in f.test_cases:
            for arg in inspect.signature(tc.body.test_func).parameters:
                if arg != "env" and arg not in variables:
                    variables.append(arg)
    return Autograder(
        root=fp.root, test_paths=test_paths, data_dir=fp.data_dir, sha256=fp.sha256, data_sha256=fp.data_sha256,
        questions=questions, max_points=max_points, variables=variables,
        manual=contract.MANUAL_QUESTIONS,
    )


def _parse(path: Path):
    from otter.test_files.exception_test import ExceptionTestFile

    try:
        return ExceptionTestFile.from_file(str(path))
    except Exception as exc:
        raise CtlabError(f"{path}: not a valid otter exception-format test file ({type(exc).__name__}: {exc})") from None


MAX_MESSAGE = 2000  # characters of one test message: messages may quote a submission's values


def _cut(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    return message[:MAX_MESSAGE] + f"… ({len(message) - MAX_MESSAGE} more characters cut)"


def _run_file(tf, env: dict) -> None:
    """otter's ExceptionTestFile.run, except that a MemoryError ends the run instead of failing
    one test case: running out of memory says nothing about the answer, and the process that
    ran out is not fit to go on."""
    from otter.test_files.abstract_test import TestCaseResult

    tf.test_case_results = []
    for tc in tf.test_cases:
        passed, message = True, "✅ Test case passed"
        try:
            tc.body.call_func(env)
        except MemoryError:
            raise
        except Exception as e:
            passed = False
            try:
                message = "❌ Test case failed\n" + tf._generate_error_message(e)
            except MemoryError:
                raise
            except Exception:
                message = f"❌ Test case failed\n{type(e).__name__}: {e}"
        tf.test_case_results.append(TestCaseResult(test_case=tc, message=message, passed=passed))


def run_tests(ag: Autograder, values: dict, problems: dict[str, str]) -> tuple[dict, list[dict]]:
    """Run every test file against `values`. Returns ({q: points}, [test records]).

    Must be called with the working directory holding a pristine `data/`. Raises MemoryError
    when a test runs out of memory.
    """
    points: dict[str, float] = {q: 0.0 for q in ag.questions}
    records: list[dict] = []
    for path in ag.test_paths:
        tf = _parse(path)  # fresh objects: test files keep results on themselves
        env = {k: _copy(v) for k, v in values.items()}
        _run_file(tf, env)
        for res in tf.test_case_results:
            tc = res.test_case
            params = [a for a in inspect.signature(tc.body.test_func).parameters if a != "env"]
            missing = [a for a in params if a not in values]
            message = res.message
            if not res.passed and missing:
                reasons = "; ".join(
                    f"'{m}' {problems[m]}" if m in problems else f"'{m}' is not defined by the notebook"
                    for m in missing
                )
                message = f"❌ Test case failed: {reasons}"
            records.append({
                "name": tc.name, "question": tf.name,
                "points": float(tc.points or 0) if res.passed else 0.0,
                "max_points": float(tc.points or 0), "hidden": bool(tc.hidden),
                "passed": bool(res.passed), "message": _cut(str(message)),
            })
        points[tf.name] = points.get(tf.name, 0.0) + float(tf.score)
    return points, records


def _copy(v):
    try:
        return copy.deepcopy(v)
    except MemoryError:
        raise
    except Exception:
        return v


def describe(ag: Autograder) -> dict:
    """What the grading process needs of an autograder, as JSON: sent by a trusted process."""
    return {"questions": ag.questions, "max_points": ag.max_points, "variables": ag.variables,
            "manual": sorted(ag.manual), "files": [_file_info(p)[0] for p in ag.test_paths]}


def from_description(fp: Fingerprint, desc: dict) -> Autograder:
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


# ---------------------------------------------------------------- trusted grading processes
#
# Phase 2 runs in fresh interpreters (spawned, never forked from anything that ran submission
# code; see trusted.py), so the tests of several submissions run on several cores. Each process
# reads the pristine data files once: pandas.read_csv calls on files under its data folder
# return a fresh copy of the cached frame, which is what reading the unchanged file again
# would return.

_POOL_AG: Autograder | None = None


def _install_read_csv_cache(data_root: Path):
    """Patch pandas.read_csv (in this trusted process) to cache reads under data_root; returns an undo."""
    import pandas as pd

    original = pd.read_csv
    cache: dict = {}
    root = str(data_root.resolve())

    def cached_read_csv(filepath_or_buffer, *args, **kwargs):
        try:
            path = os.path.realpath(os.fspath(filepath_or_buffer))
        except TypeError:
            return original(filepath_or_buffer, *args, **kwargs)
        if not path.startswith(root + os.sep) or kwargs.get("chunksize") or kwargs.get("iterator"):
            return original(filepath_or_buffer, *args, **kwargs)
        try:
            key = (path, repr(args), repr(sorted(kwargs.items())))
        except Exception:
            return original(filepath_or_buffer, *args, **kwargs)
        if key not in cache:
            cache[key] = original(filepath_or_buffer, *args, **kwargs)
        return cache[key].copy(deep=True)

    pd.read_csv = cached_read_csv

    def undo() -> None:
        pd.read_csv = original

    return undo


def pool_init(root: str, pristine: str):
    """Set this process up for pool_grade (cwd = the pristine copy); returns an undo."""
    global _POOL_AG
    os.chdir(pristine)
    _POOL_AG = load_autograder(Path(root))
    _MEMO.clear()
    undo_csv = _install_read_csv_cache(Path(pristine) / "data")

    def undo() -> None:
        global _POOL_AG
        undo_csv()
        _POOL_AG = None
        _MEMO.clear()

    return undo


# Test results by (test file, content of the variables it reads). The tests are functions of
# those variables and the pristine data only, so equal inputs give equal results; a class
# whose notebooks load the same frames pays for those tests once per process.
_MEMO: dict = {}
_PARAMS: dict = {}


def _file_info(path: Path) -> tuple[str, tuple[str, ...]]:
    """(question name, variables its test cases read) of one test file."""
    if path not in _PARAMS:
        tf = _parse(path)
        names: list[str] = []
        for tc in tf.test_cases:
            for a in inspect.signature(tc.body.test_func).parameters:
                if a not in names:
                    names.append(a)
        _PARAMS[path] = (str(tf.name), tuple(names))
    return _PARAMS[path]


def _file_params(path: Path) -> tuple[str, ...]:
    return _file_info(path)[1]


def _digests(snapshot_dir: str, names: Collection[str]) -> dict[str, str]:
    from ctlab.grading import snapshot

    manifest = snapshot.read_manifest(snapshot_dir)
    out = {}
    for name, entry in manifest["variables"].items():
        if not isinstance(entry, dict) or name not in names:
            continue
        f = entry.get("file")
        if entry.get("kind") in ("json", "dataframe", "series", "index", "array") and isinstance(f, str) and "/" not in f and not f.startswith("."):
            try:
                with open(Path(snapshot_dir, f), "rb") as fh:
                    h = hashlib.file_digest(fh, "sha256")
                h.update(json.dumps([entry.get("kind"), entry.get("name")], default=str).encode())
                out[name] = h.hexdigest()
            except OSError:
                pass
    return out


def pool_grade_files(snapshot_dir: str | None, *,
                     loading: Callable[[bool], None] = lambda on: None) -> Iterator[tuple[str, float, list[dict]]]:
    """Load a snapshot (or nothing) and run each test file against it, yielding
    (question, points, [test records]) per file as it completes. `loading(True)` and
    `loading(False)` are called around the loading of the snapshot (only when a test needs it)."""
    from ctlab.grading import snapshot

    ag = _POOL_AG
    assert ag is not None
    try:
        digests = _digests(snapshot_dir, ag.variables) if snapshot_dir else {}
    except snapshot.SnapshotError:
        digests, snapshot_dir = {}, None
    values: dict | None = None
    problems: dict[str, str] = {}
    for path in ag.test_paths:
        key = (str(path), tuple((p, digests.get(p)) for p in _file_params(path) if p != "env"))
        if "env" in _file_params(path) or any(d is None for _, d in key[1]):
            key = None  # missing or unsaved variables: run (messages depend on why)
        hit = _MEMO.get(key) if key else None
        if hit is None:
            if values is None:
                values = {}
                if snapshot_dir:
                    loading(True)
                    try:
                        values, problems = snapshot.load_snapshot_with_problems(snapshot_dir, ag.variables)
                    except snapshot.SnapshotError:
                        values, problems = {}, {}
                    loading(False)
            one = dataclasses.replace(ag, test_paths=[path])
            hit = run_tests(one, values, problems)
            if key:
                _MEMO[key] = hit
        pts, recs = hit
        q = _file_info(path)[0]
        yield q, float(pts.get(q, 0.0)), [dict(r) for r in recs]


def pool_grade(snapshot_dir: str | None) -> tuple[dict, list[dict]]:
    """Load a snapshot (or nothing) and run every test file against it."""
    ag = _POOL_AG
    assert ag is not None
    points: dict[str, float] = {q: 0.0 for q in ag.questions}
    records: list[dict] = []
    for q, pts, recs in pool_grade_files(snapshot_dir):
        points[q] = points.get(q, 0.0) + pts
        records.extend(recs)
    return points, records
