"""Phase 2 (trusted): run the otter test files against a loaded answer snapshot.

This runs in the grading process, which never executes submission code. Each test
file is parsed once with otter's own ExceptionTestFile; each submission's values are
passed to it as the global environment, as `otter run` would.
"""

from __future__ import annotations

import copy
import os
import hashlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from ctlab.errors import CtlabError


def _qkey(name: str):
    m = re.fullmatch(r"q(\d+)(.*)", name)
    return (0, int(m.group(1)), m.group(2)) if m else (1, 0, name)


@dataclass
class Autograder:
    root: Path
    test_paths: list[Path]
    data_dir: Path
    sha256: str
    questions: list[str]  # gradebook columns, in order
    max_points: dict[str, float]
    variables: list[str]  # what phase 1 snapshots
    manual: frozenset[str]


def load_autograder(root: Path) -> Autograder:
    from ctlab import contract

    root = Path(root).resolve()
    tests_dir = root / "autograder" / "tests"
    if not tests_dir.is_dir():
        raise CtlabError(f"{tests_dir}: no autograder tests here (run `ctlab build` first, or pass --root)")
    test_paths = sorted(tests_dir.glob("q*.py"), key=lambda p: _qkey(p.stem))
    if not test_paths:
        raise CtlabError(f"{tests_dir}: no q*.py test files")
    data_dir = root / "assignment" / "data"
    if not data_dir.is_dir() or not any(data_dir.glob("*.csv")):
        raise CtlabError(f"{data_dir}: the assignment's data files are missing")
    h = hashlib.sha256()
    for p in test_paths + sorted(data_dir.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    files = [_parse(p) for p in test_paths]
    extra_q = getattr(contract, "QUESTIONS", {})
    questions = sorted(set(extra_q) | {"q9", "q10"} | {f.name for f in files}, key=_qkey)
    max_points: dict[str, float] = {q: 0.0 for q in questions}
    variables: list[str] = list(getattr(contract, "ANSWER_VARIABLES", ()))
    for f in files:
        max_points[f.name] = max_points.get(f.name, 0.0) + float(f.possible)
        for tc in f.test_cases:
            for arg in inspect.signature(tc.body.test_func).parameters:
                if arg != "env" and arg not in variables:
                    variables.append(arg)
    return Autograder(
        root=root, test_paths=test_paths, data_dir=data_dir, sha256=h.hexdigest(),
        questions=questions, max_points=max_points, variables=variables,
        manual=frozenset(getattr(contract, "MANUAL_QUESTIONS", frozenset())),
    )


def _parse(path: Path):
    from otter.test_files.exception_test import ExceptionTestFile

    try:
        return ExceptionTestFile.from_file(str(path))
    except Exception as exc:
        raise CtlabError(f"{path}: not a valid otter exception-format test file ({type(exc).__name__}: {exc})") from None


def run_tests(ag: Autograder, values: dict, problems: dict[str, str]) -> tuple[dict, list[dict]]:
    """Run every test file against `values`. Returns ({q: points}, [test records]).

    Must be called with the working directory holding a pristine `data/`.
    """
    points: dict[str, float] = {q: 0.0 for q in ag.questions}
    records: list[dict] = []
    for path in ag.test_paths:
        tf = _parse(path)  # fresh objects: test files keep results on themselves
        env = {k: _copy(v) for k, v in values.items()}
        tf.run(env)
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
                "passed": bool(res.passed), "message": message,
            })
        points[tf.name] = points.get(tf.name, 0.0) + float(tf.score)
    return points, records


def _copy(v):
    try:
        return copy.deepcopy(v)
    except Exception:
        return v


# ---------------------------------------------------------------- trusted grading processes
#
# Phase 2 runs in a pool of fresh interpreters (spawned, never forked from anything that
# ran submission code), one per worker, so the tests of several submissions run on
# several cores. Each process reads the pristine data files once: pandas.read_csv calls
# on files under its data folder return a fresh copy of the cached frame, which is what
# reading the unchanged file again would return.

_POOL_AG: Autograder | None = None


def _install_read_csv_cache(data_root: Path) -> None:
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


def pool_init(root: str, pristine: str) -> None:
    global _POOL_AG
    os.chdir(pristine)
    _POOL_AG = load_autograder(Path(root))
    _install_read_csv_cache(Path(pristine) / "data")


def pool_grade(snapshot_dir: str | None) -> tuple[dict, list[dict]]:
    """Load a snapshot (or nothing) and run every test file against it."""
    from ctlab.grading import snapshot

    assert _POOL_AG is not None
    values: dict = {}
    problems: dict[str, str] = {}
    if snapshot_dir:
        try:
            values, problems = snapshot.load_snapshot_with_problems(snapshot_dir)
        except snapshot.SnapshotError:
            values, problems = {}, {}
    return run_tests(_POOL_AG, values, problems)
