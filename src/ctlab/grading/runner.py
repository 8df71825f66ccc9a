"""Phase 2 (trusted): run the otter test files against answer snapshots.

A TestRunner lives in a trusted process of its own (trusted.py), which never executes
submission code. Each test file is parsed with otter's own ExceptionTestFile; a submission's
values are passed to it as the global environment, as `otter run` would, with the working
directory at a pristine copy of the data for the time of the run.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import dataclasses
import hashlib
import json
import os
import sys
import types
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from ctlab.grading.autograder import Autograder, TestFile, case_params, file_params, load_autograder, parse_test_file

TestRecord = dict[str, Any]  # one test case's outcome, as results/<name>.json keeps it
MAX_MESSAGE = 2000  # characters of one test message: messages may quote a submission's values


class FileResult(NamedTuple):
    """What one test file made of one snapshot."""
    question: str
    points: float
    tests: list[TestRecord]


@dataclasses.dataclass(frozen=True)
class _FileInfo:
    question: str
    params: tuple[str, ...]  # the variables its test cases read ("env": all of them)


class TestRunner:
    """Runs the autograder's test files against one answer snapshot at a time, and keeps what
    repeats between snapshots: the pristine data frames the tests read (see _TestPandas) and
    each test file's results by the content of the variables it reads. The tests are functions
    of those variables and the pristine data only, so equal inputs give equal results; a class
    whose notebooks load the same frames pays for those tests once per runner."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path, pristine: Path) -> None:
        self.pristine = Path(pristine).resolve()
        self.autograder: Autograder = load_autograder(Path(root))
        self._files = {p: _file_info(p) for p in self.autograder.test_paths}
        self._results: dict[tuple[str, str, tuple[tuple[str, str | None], ...]], tuple[float, list[TestRecord]]] = {}
        self._pandas = _TestPandas(self.pristine)
        self._builtins = _builtins_with({"pandas": self._pandas})
        self._event_ids: dict[str, frozenset[str]] = {}
        self._data_variants: dict[tuple[str, str, str], str | None] = {}
        # What `data_variant` last loaded, (snapshot, values, problems): the tests of that snapshot
        # take it instead of loading the same files again.
        self._loaded: tuple[str, dict[str, Any], dict[str, str]] | None = None

    def grade(self, snapshot_dir: str | None, variant: str) -> tuple[dict[str, float], list[TestRecord]]:
        """Load a snapshot (or nothing) and run every test file against it, on `variant`'s data."""
        points: dict[str, float] = {q: 0.0 for q in self.autograder.questions}
        records: list[TestRecord] = []
        for result in self.grade_files(snapshot_dir, variant):
            points[result.question] = points.get(result.question, 0.0) + result.points
            records.extend(result.tests)
        return points, records

    def variants(self) -> list[str]:
        """The variants whose pristine data this runner has (pristine/vNN/data)."""
        return sorted(p.name for p in self.pristine.iterdir() if (p / "data").is_dir())

    def data_variant(self, snapshot_dir: str | None, variant: str) -> str | None:
        """The variant whose logs the snapshot's cloud_iam_df and cloud_api_df hold, when that is another
        one than `variant` (the STUDENT_ID's): rows matched by event_id. None when they are its own or
        hold no rows of any variant."""
        from ctlab.grading import snapshot

        self._loaded = None
        if not snapshot_dir:
            return None
        logs = ("cloud_iam_df", "cloud_api_df")
        try:
            digests = value_digests(snapshot_dir, logs)
        except snapshot.SnapshotError:
            return None
        # Most of a class loads the same two logs: equal files give an equal answer.
        key = (variant, digests[logs[0]], digests[logs[1]]) if all(n in digests for n in logs) else None
        if key is not None and key in self._data_variants:
            return self._data_variants[key]
        try:  # every variable: unless the logs are another variant's, its tests need them next
            values, problems = snapshot.load_snapshot_with_problems(snapshot_dir, self.autograder.variables)
        except snapshot.SnapshotError:
            return None
        self._loaded = (snapshot_dir, values, problems)
        seen: set[str] = set()
        for value in (values[n] for n in logs if n in values):
            frame: Any = value
            try:
                ids = frame["event_id"] if "event_id" in frame.columns else frame.index.get_level_values("event_id")
                seen |= {str(v) for v in ids.to_numpy(dtype=object)[:200000]}
            except (AttributeError, KeyError, TypeError, ValueError):
                continue
        other = None
        if seen:
            known = self.variants()
            # every row its own variant's: no other variant can match more of them
            if not (variant in known and seen <= self._ids_of(variant)):
                overlap = {v: len(seen & self._ids_of(v)) for v in known}
                best = max(overlap, key=lambda v: (overlap[v], v == variant))
                other = best if overlap[best] > overlap.get(variant, 0) else None
        if key is not None:
            self._data_variants[key] = other
        return other

    def read_event_ids(self, variants: list[str] | None = None) -> None:
        """Read these variants' event ids now (default: every variant's; what `data_variant` compares
        with), so that the first snapshot's check does not pay for reading them within its time limit.
        The others are read when a snapshot first holds rows that are not its own variant's."""
        for variant in self.variants() if variants is None else variants:
            self._ids_of(variant)

    def _ids_of(self, variant: str) -> frozenset[str]:
        if variant not in self._event_ids:
            # The logs as the tests read them (data/<name>.csv, every value a string): the frames are
            # kept for the tests of that variant, so the logs are parsed once for both.
            ids: set[str] = set()
            for name in ("cloud_iam.csv", "cloud_api.csv"):
                frame = self._pandas.read_csv(str(self.pristine / variant / "data" / name), dtype=object,
                                              keep_default_na=False)
                ids.update(v for v in frame["event_id"].tolist() if v)
            self._event_ids[variant] = frozenset(ids)
        return self._event_ids[variant]

    def grade_files(self, snapshot_dir: str | None, variant: str, *,
                    loading: Callable[[bool], None] = lambda on: None) -> Iterator[FileResult]:
        """Load a snapshot (or nothing) and run each test file against it on `variant`'s pristine data
        and answer key, yielding its result as it completes. `loading(True)` and `loading(False)` are
        called around the loading of the snapshot (only when a test needs it).
        Raises MemoryError when a test runs out of memory."""
        from ctlab.grading import snapshot

        ag = self.autograder
        try:
            digests = value_digests(snapshot_dir, ag.variables) if snapshot_dir else {}
        except snapshot.SnapshotError:
            digests, snapshot_dir = {}, None
        values: dict[str, Any] | None = None
        problems: dict[str, str] = {}
        loaded, self._loaded = self._loaded, None
        for path in ag.test_paths:
            info = self._files[path]
            key: tuple[str, str, tuple[tuple[str, str | None], ...]] | None
            key = (variant, str(path), tuple((p, digests.get(p)) for p in info.params if p != "env"))
            if "env" in info.params or any(d is None for _, d in key[2]):
                key = None  # missing or unsaved variables: run (messages depend on why)
            hit = self._results.get(key) if key else None
            if hit is None:
                if values is None:
                    values = {}
                    if snapshot_dir:
                        loading(True)
                        if loaded is not None and loaded[0] == snapshot_dir:
                            values, problems = loaded[1], loaded[2]
                        else:
                            try:
                                values, problems = snapshot.load_snapshot_with_problems(snapshot_dir, ag.variables)
                            except snapshot.SnapshotError:
                                values, problems = {}, {}
                        loading(False)
                hit = self._run(path, values, problems, self.pristine / variant)
                if key:
                    self._results[key] = hit
            points, records = hit
            yield FileResult(info.question, points, [dict(r) for r in records])

    def _run(self, path: Path, values: dict[str, Any], problems: dict[str, str],
             where: Path) -> tuple[float, list[TestRecord]]:
        """Run one test file against `values` in `where` (data/ and its key): (its points, its test records)."""
        tf = _with_builtins(parse_test_file(path), self._builtins)  # fresh: test files keep results on themselves
        env = {k: _copy(v) for k, v in values.items()}
        with contextlib.chdir(where):  # the tests read data/*.csv and data/answer_key.json
            _run_file(tf, env)
        records: list[TestRecord] = []
        for res in tf.test_case_results:
            tc = res.test_case
            missing = [a for a in case_params(tc) if a != "env" and a not in values]
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
        return float(tf.score), records


def _file_info(path: Path) -> _FileInfo:
    tf = parse_test_file(path)
    return _FileInfo(str(tf.name), file_params(tf))


def _run_file(tf: TestFile, env: dict[str, Any]) -> None:
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


def _cut(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    return message[:MAX_MESSAGE] + f"… ({len(message) - MAX_MESSAGE} more characters cut)"


def _copy(v: Any) -> Any:
    """A copy of a snapshot's value that one test file may change without the next seeing it. A pandas
    frame or series is copied lazily: with copy-on-write (always on in pandas 3) whatever changes it, or
    an array taken from it, copies that part first. A deep copy of every log for every test file was a
    tenth of testing a snapshot."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(v, (pandas.DataFrame, pandas.Series)):
        return v.copy(deep=False)
    try:
        return copy.deepcopy(v)
    except MemoryError:
        raise
    except Exception:
        return v


def value_digests(snapshot_dir: str, names: Collection[str]) -> dict[str, str]:
    """A hash of each saved variable's file and kind, by name: the memo key of its content."""
    from ctlab.grading import snapshot

    manifest = snapshot.read_manifest(snapshot_dir)
    out = {}
    for name, entry in manifest["variables"].items():
        if not isinstance(entry, dict) or name not in names:
            continue
        f = entry.get("file")
        if (entry.get("kind") in ("json", "dataframe", "series", "index", "array") and isinstance(f, str)
                and "/" not in f and not f.startswith(".")):
            try:
                with open(Path(snapshot_dir, f), "rb") as fh:
                    h = hashlib.file_digest(fh, "sha256")
                h.update(json.dumps([entry.get("kind"), entry.get("name")], default=str).encode())
                out[name] = h.hexdigest()
            except OSError:
                pass
    return out


# ---------------------------------------------------------------- what the test files import

class _TestPandas(types.ModuleType):
    """pandas as the runner's test files import it. read_csv of a file under the pristine data
    folder returns a copy (copy-on-write, see _copy) of the frame read the first time, which is what reading the
    unchanged file again would return: the tests of every snapshot read the same files, and
    parsing them is most of the cost of testing one. Everything else is pandas itself."""

    def __init__(self, data_dir: Path) -> None:
        import pandas

        super().__init__(pandas.__name__, pandas.__doc__)
        self._pandas = pandas
        self._data_root = str(data_dir.resolve())
        self._frames: dict[tuple[str, str, str], Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pandas, name)

    def read_csv(self, filepath_or_buffer: Any, *args: Any, **kwargs: Any) -> Any:
        read = self._pandas.read_csv
        try:
            path = os.path.realpath(os.fspath(filepath_or_buffer))
        except TypeError:
            return read(filepath_or_buffer, *args, **kwargs)
        if not path.startswith(self._data_root + os.sep) or kwargs.get("chunksize") or kwargs.get("iterator"):
            return read(filepath_or_buffer, *args, **kwargs)
        try:
            key = (path, repr(args), repr(sorted(kwargs.items())))
        except Exception:
            return read(filepath_or_buffer, *args, **kwargs)
        if key not in self._frames:
            self._frames[key] = read(filepath_or_buffer, *args, **kwargs)
        return self._frames[key].copy(deep=False)  # copy-on-write: a test's change copies what it changes


def _builtins_with(modules: dict[str, types.ModuleType]) -> dict[str, Any]:
    """Builtins whose `import` gives `modules` in place of the modules of those names."""
    real_import = builtins.__import__

    def import_(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        top = name.partition(".")[0]
        module = real_import(name, globals, locals, fromlist, level)
        if level == 0 and top in modules and (name == top or not fromlist):
            return modules[top]
        return module

    return {**vars(builtins), "__import__": import_}


def _with_builtins(tf: TestFile, builtins_ns: dict[str, Any]) -> TestFile:
    """`tf` with its functions remade over `builtins_ns`: a function's builtins, through which
    its `import` statements go, are fixed when the function is made. Only this test file object
    sees them; the modules themselves are left as they are."""
    spaces: dict[int, dict[str, Any]] = {}

    def space_of(f: types.FunctionType) -> dict[str, Any]:
        old = f.__globals__
        if id(old) not in spaces:
            new = spaces[id(old)] = {**old, "__builtins__": builtins_ns}
            for name, v in old.items():
                if isinstance(v, types.FunctionType) and v.__globals__ is old:
                    new[name] = _remade(v, new)
        return spaces[id(old)]

    for tc in tf.test_cases:
        f = tc.body.test_func
        if isinstance(f, types.FunctionType):
            tc.body.test_func = _remade(f, space_of(f))
    return tf


def _remade(f: types.FunctionType, space: dict[str, Any]) -> types.FunctionType:
    new = types.FunctionType(f.__code__, space, f.__name__, f.__defaults__, f.__closure__)
    new.__kwdefaults__ = f.__kwdefaults__
    new.__qualname__ = f.__qualname__
    new.__dict__.update(f.__dict__)
    return new
