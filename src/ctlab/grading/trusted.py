"""Phase 2 in processes of its own: `python -m ctlab.grading.trusted ROOT PRISTINE MEMORY_MB`.

A fresh interpreter that never runs submission code: it loads the autograder and the
pristine data, then caps its own address space (RLIMIT_AS) at what it holds plus
MEMORY_MB, and tests one answer snapshot per request. A snapshot is made by the
submission, so loading or testing it may take any time or memory. The grading process
gives each request a wall-clock limit; when the tests overrun it, run out of memory or
crash, it kills the process, starts a fresh one, and only that submission's untested
questions score 0. The batch goes on.

Protocol, one JSON object a line. The child writes {"autograder": {...}} once the tests
are loaded and {"ready": true, "took": {step: seconds}, "at": its monotonic clock} once it is
capped (the steps and the time are for `ctlab grade --timings`). Each request {"snapshot": PATH or null,
"variant": "vNN"} (the pristine data and key to test against) gets {"loading": true} and
{"loading": false} around each loading of the snapshot, {"data_variant": "vMM"} when its logs are
another variant's (nothing is tested then), else
{"file": Q, "points": P, "tests": [...]} per test file, then {"done": true} (or
{"error": TEXT} for a fault of the grader itself). Out of memory, the child exits with
EXIT_MEMORY.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctlab.errors import CtlabError

if TYPE_CHECKING:
    from ctlab.grading.runner import TestRunner

EXIT_MEMORY = 86
START_TIMEOUT = 600.0  # seconds for a test process to import its libraries and load the tests


@dataclass
class Phase2Result:
    """What the tests made of one snapshot. `failure` says why the `untested` questions (0 points)
    were not tested; it is empty when every test file ran."""
    points: dict[str, float]
    tests: list[dict[str, Any]]
    failure: str = ""
    untested: list[str] = field(default_factory=list)
    data_variant: str = ""  # the other variant whose logs the answers were made from (then not tested)


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class TrustedGrader:
    """Client side: one test process, one request at a time, restarted after any failure."""

    def __init__(self, root: Path, pristine: Path, *, memory_mb: int, timeout: float):
        self.root, self.pristine = Path(root).resolve(), Path(pristine).resolve()
        self.memory_mb, self.timeout = memory_mb, timeout
        self.description: dict[str, Any] | None = None
        self._start()

    def _start(self) -> None:
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # malloc, not Arrow's own allocator, which reserves address space ahead of use
        env.update(ARROW_DEFAULT_MEMORY_POOL="system", MALLOC_ARENA_MAX="2", PYTHONHASHSEED="random")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ctlab.grading.trusted", str(self.root), str(self.pristine), str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(self.pristine),
            env=env, text=True, encoding="utf-8", errors="replace",
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.started_at, self.ready_at = time.monotonic(), 0.0
        self.took: dict[str, float] = {}  # the start-up steps of the test process, in seconds, by name
        self.ready = False
        self.start_error: CtlabError | None = None
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()

    @staticmethod
    def _read(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout
        try:
            for line in proc.stdout:
                lines.put(line)
        except (OSError, ValueError):
            pass
        finally:
            lines.put(None)
            proc.stdout.close()

    def _next(self, timeout: float) -> dict[str, Any] | None:
        """The child's next message; None once it has exited. Raises queue.Empty after `timeout`."""
        line = self.lines.get(timeout=max(timeout, 0.0))
        if line is None:
            return None
        try:
            msg = json.loads(line)
        except ValueError:
            return {"error": "the test process wrote something that is not JSON"}
        return msg if isinstance(msg, dict) else {"error": "the test process wrote something unexpected"}

    def _wait_until(self, key: str) -> None:
        """Read start-up messages up to `key` ("autograder" or "ready")."""
        if self.start_error is not None:
            raise self.start_error
        deadline = time.monotonic() + START_TIMEOUT
        while not (self.ready if key == "ready" else self.description is not None):
            try:
                msg = self._next(deadline - time.monotonic())
            except queue.Empty:
                msg = {"error": f"the test process did not start within {START_TIMEOUT:g} s"}
            if msg is None:
                msg = {"error": f"the test process stopped while starting (exit status {self.proc.wait()})"}
            if "error" in msg:
                self.start_error = CtlabError(str(msg["error"])[:500])
                raise self.start_error
            if "autograder" in msg:
                self.description = msg["autograder"]
            elif msg.get("ready"):
                self.ready = True
                at = msg.get("at")  # the child's reading of the same (system-wide) monotonic clock
                self.ready_at = float(at) if isinstance(at, (int, float)) else time.monotonic()
                took = msg.get("took")
                self.took = {str(k): float(v) for k, v in took.items()
                             if isinstance(v, (int, float))} if isinstance(took, dict) else {}

    def autograder(self) -> dict[str, Any]:
        """The autograder as the test process loaded it (see autograder.describe)."""
        self._wait_until("autograder")
        assert self.description is not None
        return self.description

    def grade(self, snapshot_dir: str | None, variant: str = "v01") -> Phase2Result:
        """Run every test file against one snapshot on `variant`'s data and key, within the time and
        memory limits; not when the snapshot's logs are another variant's (see `data_variant`)."""
        if self.ready and self.proc.poll() is not None:  # it died between requests: not this one's doing
            self._restart()
        self._wait_until("ready")
        desc = self.autograder()
        files = [str(f) for f in desc.get("files", [])]
        points: dict[str, float] = {}
        tests: list[dict[str, Any]] = []
        done: list[str] = []

        def at() -> str:
            left = [f for f in files if f not in done]
            return f"in {left[0]}" if left else "after the last test"

        where = at()
        failure = ""
        try:
            assert self.proc.stdin
            self.proc.stdin.write(json.dumps({"snapshot": snapshot_dir, "variant": variant}) + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it has exited: reading says how
        deadline = time.monotonic() + self.timeout
        data_variant = ""
        while True:
            try:
                msg = self._next(deadline - time.monotonic())
            except queue.Empty:
                failure = f"the tests took longer than {self.timeout:g} s {where}"
                break
            if msg is None:
                code = self.proc.wait()
                if code == EXIT_MEMORY:
                    failure = f"the tests ran out of memory (limit {self.memory_mb} MB) {where}"
                elif code < 0:
                    failure = f"the test process crashed ({_signame(-code)}) {where}"
                else:
                    failure = f"the test process stopped (exit status {code}) {where}"
                break
            if "error" in msg:
                raise RuntimeError(str(msg["error"])[:500])
            if "data_variant" in msg:
                data_variant = str(msg["data_variant"])
            elif "loading" in msg:
                where = "while loading the answers" if msg["loading"] else at()
            elif "file" in msg:
                q = str(msg["file"])
                points[q] = points.get(q, 0.0) + float(msg.get("points") or 0.0)
                tests.extend(t for t in msg.get("tests") or [] if isinstance(t, dict))
                done.append(q)
                where = at()
            elif msg.get("done"):
                return Phase2Result(points, tests, data_variant=data_variant)
        self._restart()
        untested = [f for f in files if f not in done]
        if not untested:
            return Phase2Result(points, tests)
        maxima = desc.get("max_points") or {}
        for q in untested:
            points[q] = 0.0
            tests.append({"name": f"{q} (not tested)", "question": q, "points": 0.0,
                          "max_points": float(maxima.get(q, 0.0)), "hidden": False, "passed": False,
                          "message": f"❌ Not tested: {failure}"})
        return Phase2Result(points, tests, failure=failure, untested=untested)

    def _restart(self) -> None:
        self._kill()
        self._start()

    def _kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self._kill()


# ---------------------------------------------------------------- the test process

def _import_otter_test_files() -> None:
    """Import otter's test-file classes without the package's own __init__, whose notebook API,
    exporters and runner (nbconvert and more) this process never uses: a second of start-up
    saved. Falls back to the whole package if the test files need more of it."""
    import importlib.util
    import types

    from ctlab.grading.worker.imports import import_without_iri_checker

    if "otter" in sys.modules:
        return
    spec = importlib.util.find_spec("otter")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("otter")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__, package.__file__ = spec, spec.origin
    sys.modules["otter"] = package
    try:
        import_without_iri_checker("otter.test_files.exception_test")
    except Exception:
        for name in [n for n in sys.modules if n == "otter" or n.startswith("otter.")]:
            del sys.modules[name]


def _warm_up(runner: TestRunner) -> None:
    """Do once, before the cap, what every request does: the thread pools and lazy imports
    it leaves behind then count as held, not against the budget. Testing no answers at all
    also reads the pristine data the tests read, which the runner keeps (runner.py)."""
    import tempfile

    import pandas as pd

    from ctlab.grading import snapshot

    frame = pd.DataFrame({"event_id": ["e1", "e2"], "n": [1, None],
                          "t": pd.to_datetime(pd.Series(["2026-01-01", None]), utc=True)})
    with tempfile.TemporaryDirectory(prefix="ctlab-warm-") as d:
        snapshot.write_snapshot({"f": frame, "s": frame["n"], "l": [1, (2,), {3}]}, ["f", "s", "l"],
                                Path(d) / "s", 0)
        snapshot.load_snapshot_with_problems(Path(d) / "s")
    first = runner.variants()[0]
    runner.grade(None, first)  # the first variant's data; others are read when first asked for
    # The first variant's event ids, which a request's variant check compares its rows with. A snapshot
    # whose rows are all its own variant's needs no other (data_variant); reading all twelve weeks'
    # here took half a second of every test process's start, for the rare answer made from another week.
    runner.read_event_ids([first])


def _cap_memory(memory_mb: int) -> None:
    import resource

    with open("/proc/self/status") as f:
        held = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")), 0)
    limit = held + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> None:
    root, pristine, memory_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # The protocol gets a descriptor of its own; anything else written to stdout goes to stderr.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj, default=str) + "\n")
        proto.flush()

    took: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        _import_otter_test_files()
        from ctlab.grading.autograder import describe
        from ctlab.grading.runner import TestRunner

        t1 = time.monotonic()
        runner = TestRunner(Path(root), Path(pristine))
        send({"autograder": describe(runner.autograder)})
        t2 = time.monotonic()
        _warm_up(runner)
        _cap_memory(memory_mb)
        took.update(imports=t1 - t0, load_tests=t2 - t1, warm_up=time.monotonic() - t2)
    except Exception as exc:
        send({"error": f"{type(exc).__name__}: {exc}" if not isinstance(exc, CtlabError) else str(exc)})
        return
    send({"ready": True, "took": took, "at": time.monotonic()})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            path = request.get("snapshot") if isinstance(request, dict) else None
            path = path if isinstance(path, str) else None
            variant = request.get("variant") if isinstance(request, dict) else None
            if not isinstance(variant, str) or variant not in runner.variants():
                raise ValueError(f"no pristine data for the variant {variant!r}")
            send({"loading": True})  # the check loads the answers' two frames
            other = runner.data_variant(path, variant)
            send({"loading": False})
            if other:
                send({"data_variant": other})
            else:
                for result in runner.grade_files(path, variant, loading=lambda on: send({"loading": on})):
                    send({"file": result.question, "points": result.points, "tests": result.tests})
            send({"done": True})
        except MemoryError:
            os._exit(EXIT_MEMORY)
        except Exception as exc:
            try:
                send({"error": f"{type(exc).__name__}: {exc}"[:500]})
            except MemoryError:
                os._exit(EXIT_MEMORY)
    os._exit(0)  # every answer is flushed: skip tearing pandas down, the grading process waits on it


if __name__ == "__main__":
    main()
