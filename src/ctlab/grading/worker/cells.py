"""The cell runner: a submission's code cells in one namespace, as Jupyter runs them, with the
answer variables snapshotted after every cell and a progress record the trusted side reads."""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil
import sys
import traceback
from types import ModuleType
from typing import Any

from ctlab.grading import snapshot as snap

OUTPUT_CAP = 1024 * 1024  # bytes of stdout+stderr kept per submission


class CappedWriter(io.TextIOBase):
    """stdout/stderr for submission code: keeps the first OUTPUT_CAP bytes, drops the rest."""

    def __init__(self, raw: int, state: dict[str, int]) -> None:
        self._raw = raw
        self._state = state

    def writable(self) -> bool:
        return True

    def write(self, s: Any) -> int:
        if not isinstance(s, str):
            s = str(s)
        data = s.encode("utf-8", "replace")
        room = OUTPUT_CAP - self._state["written"]
        if room > 0:
            chunk = data[:room]
            try:
                os.write(self._raw, chunk)
            except OSError:
                pass
            self._state["written"] += len(chunk)
        if len(data) > max(room, 0):
            self._state["dropped"] += len(data) - max(room, 0)
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._raw


def thread_limit(exc: RuntimeError) -> bool:
    """Whether `exc` is Python's refusal to start a thread (the kernel said EAGAIN: the
    submission reached its task limit, submission.TASK_CAP)."""
    return str(exc).startswith("can't start new thread")


def atomic_json(path: str, obj: object) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def display(*objs: object, **kwargs: object) -> None:
    for o in objs:
        print(repr(o))


def prepare_source(src: str) -> str:
    """IPython-only lines (magics, shell escapes) become `pass`, as they mean nothing here."""
    lines = src.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].strip()[2:].split()[0] if lines[0].strip()[2:] else ""
        if magic in ("time", "timeit", "capture"):
            lines = lines[1:]
        else:
            return f"raise RuntimeError('cell magic %%{magic} is not supported by the grader')"
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#")
                                              and stripped[:-1].replace(".", "").replace("_", "").isalnum()):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def fingerprint(value: object, pandas: ModuleType | None) -> tuple[object, ...] | None:
    """Cheap identity of a DataFrame/Series that changes when it is rebound, reshaped, gets or
    loses columns, or has a column replaced; None (always rewrite) for everything else."""
    try:
        if pandas is None:
            return None
        if isinstance(value, pandas.DataFrame):
            mgr = value._mgr
            return (id(value), id(mgr), value.shape, tuple(map(str, value.columns)), tuple(map(str, value.dtypes)),
                    tuple(id(b.values) for b in mgr.blocks), id(value.index))
        if isinstance(value, pandas.Series):
            return (id(value), id(value._mgr), value.shape, str(value.dtype), id(value.array), id(value.index),
                    str(value.name))
    except Exception:
        return None
    return None


def run_cells(job: dict[str, Any], cells: list[str], out: str) -> None:
    """Run `cells` in one namespace (this process's stdio already set up by the caller); after
    each, a snapshot of the answer variables in `out` and the progress record updated."""
    # Bound before any submission code runs, so that nothing it does to sys.modules reaches here.
    pandas = sys.modules.get("pandas")
    state = {"written": 0, "dropped": 0}
    sys.stdin = open(os.devnull)
    sys.stdout = CappedWriter(1, state)
    sys.stderr = CappedWriter(2, state)
    os.environ["HOME"] = job["work"]
    os.environ["TMPDIR"] = "/tmp" if job["mode"] == "bwrap" else job["work"]
    names = job["vars"]
    progress_path = os.path.join(out, "progress.json")
    prog: dict[str, Any] = {"started": 0, "completed": 0, "snapshot": 0, "errors": [], "events": [], "done": False}
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "display": display}
    last_snap = None
    last_manifest = None
    fingerprints: dict[str, tuple[object, ...] | None] = {}
    for n, src in enumerate(cells, start=1):
        prog["started"] = n
        atomic_json(progress_path, prog)
        fatal = False
        try:
            exec(compile(prepare_source(src), f"<cell {n}>", "exec"), ns)
        except SystemExit as exc:
            prog["events"].append({"cell": n, "kind": "SystemExit", "detail": repr(exc.code)})
        except MemoryError:
            prog["events"].append({"cell": n, "kind": "MemoryError", "detail": ""})
            fatal = True
        except RuntimeError as exc:
            if not thread_limit(exc):
                prog["errors"].append({"cell": n, "error": "".join(traceback.format_exception_only(exc)).strip()[:500]})
            else:
                prog["events"].append({"cell": n, "kind": "ThreadLimit", "detail": ""})
                fatal = True
        except BaseException as exc:  # noqa: BLE001 - the notebook goes on, as Jupyter does
            tb = traceback.format_exception_only(type(exc), exc)
            prog["errors"].append({"cell": n, "error": "".join(tb).strip()[:500]})
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            try:
                plt.close("all")
            except Exception:
                pass
        if fatal:
            break
        prog["completed"] = n
        target = os.path.join(out, f"snap-{n:05d}")
        try:
            # Frames the cell neither names nor visibly changed are linked, not rewritten.
            prints = {v: fingerprint(ns[v], pandas) for v in names if v in ns}
            reuse = frozenset(v for v, fp in prints.items()
                              if fp is not None and fp == fingerprints.get(v) and v not in src)
            manifest = snap.write_snapshot(ns, names, target, n, previous=last_manifest, reuse=reuse)
            last_manifest = (target, manifest)
            fingerprints = prints
            if last_snap:
                shutil.rmtree(last_snap, ignore_errors=True)
            last_snap = target
            prog["snapshot"] = n
        except MemoryError:
            prog["events"].append({"cell": n, "kind": "MemoryError", "detail": "while saving answers"})
            break
        except Exception as exc:
            prog["events"].append({"cell": n, "kind": "SnapshotError", "detail": repr(exc)[:300]})
    else:
        prog["done"] = True
    prog["output_dropped"] = state["dropped"]
    atomic_json(progress_path, prog)
