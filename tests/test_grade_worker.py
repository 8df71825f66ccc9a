"""The sandboxed worker as a package (src/ctlab/grading/worker/): importing it changes nothing in
the importing process, the sandbox binds every file it imports, and its pure parts work alone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from ctlab.grading import sandbox
from ctlab.grading.worker import cells, isolation, protocol

# In a fresh interpreter (this one has pandas loaded already): the process's state before and after
# importing every module of the worker, and the ctlab files it loaded.
IMPORT_ALL = r'''
import json, os, resource, signal, sys
def state():
    return {"path": list(sys.path), "environ": dict(os.environ), "cwd": os.getcwd(),
            "signals": {s.name: repr(signal.getsignal(s)) for s in signal.valid_signals() if isinstance(s, signal.Signals)},
            "rlimits": {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")}}
before = state()
import importlib, pkgutil
import ctlab.grading.worker as worker
names = sorted(m.name for m in pkgutil.iter_modules(worker.__path__))
for name in names:
    importlib.import_module(f"ctlab.grading.worker.{name}")
after = state()
heavy = sorted(m for m in ("pandas", "numpy", "matplotlib", "pyarrow", "otter") if m in sys.modules)
root = os.path.dirname(os.path.dirname(sys.modules["ctlab"].__file__))
loaded = sorted(os.path.relpath(m.__file__, root) for n, m in list(sys.modules.items())
                if n.startswith("ctlab") and getattr(m, "__file__", None))
print(json.dumps({"changed": [k for k in before if before[k] != after[k]], "heavy": heavy, "modules": names,
                  "loaded": loaded}))
'''


def _import_all() -> dict:
    r = subprocess.run([sys.executable, "-I", "-c", IMPORT_ALL], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_importing_the_worker_changes_nothing_and_loads_only_what_the_sandbox_binds():
    found = _import_all()
    assert found["changed"] == [] and found["heavy"] == []
    assert {"__main__", "cells", "files", "isolation", "job", "policy", "protocol", "submission", "warmup",
            "zygote"} <= set(found["modules"])
    assert set(found["loaded"]) <= set(sandbox.sandbox_files())
    assert "ctlab/grading/worker/__main__.py" in sandbox.sandbox_files()


def test_the_sandbox_binds_the_worker_read_only_and_nothing_else_of_ctlab(tmp_path):
    cmd = sandbox.bwrap_command(tmp_path / "inbox", tmp_path / "outbox")
    bound = {cmd[i + 2]: cmd[i + 1] for i in range(len(cmd) - 2) if cmd[i] in ("--ro-bind", "--bind")
             and cmd[i + 2].startswith(sandbox.SANDBOX_ROOT)}
    assert all(cmd[cmd.index(target) - 2] == "--ro-bind" for target in bound)
    assert bound == {f"{sandbox.SANDBOX_ROOT}/{rel}": str(sandbox.PACKAGE_PARENT / rel) for rel in sandbox.sandbox_files()}


def test_magics_and_shell_escapes_become_pass():
    assert cells.prepare_source("%matplotlib inline\n!pip install x\ndf?\nx = 1  # why?") == \
        "pass\npass\npass\nx = 1  # why?"
    assert cells.prepare_source("%%time\nx = 1") == "x = 1"
    assert cells.prepare_source("%%bash\nls") == "raise RuntimeError('cell magic %%bash is not supported by the grader')"


def test_memory_budget_splits_the_cap_exactly():
    files, address_space = isolation.budget(1024)
    assert files == {"tmp": 64 << 20, "shm": 32 << 20, "job": 128 << 20, "out": 128 << 20}
    assert sum(files.values()) + address_space == 1024 << 20


def test_job_reply_keeps_only_known_keys_of_their_types():
    raw = json.dumps({"id": 3, "timed_out": 1, "exit_code": True, "wall": 2, "signal": 9, "snapshot": 4,
                      "prepare_error": "x" * 400, "zygote_error": "forged", "restart": False}).encode()
    assert protocol.typed_reply(raw, 3) == {"id": 3, "wall": 2.0, "signal": 9, "snapshot": 4,
                                            "prepare_error": "x" * 300, "restart": False}
    assert protocol.typed_reply(raw, 4) is None
    assert protocol.typed_reply(b"[1]", 3) is None and protocol.typed_reply(b"{", 3) is None


def test_nbformat_is_imported_without_the_iri_grammar_and_still_validates():
    """jsonschema's optional IRI checker builds a grammar on import (2 s of CPU): the grading
    processes import nbformat without it, notebooks still validate, and the package itself
    can still be imported afterwards (a submission may)."""
    code = textwrap.dedent("""
        import sys
        from ctlab.grading.worker.imports import import_without_iri_checker
        nbformat = import_without_iri_checker("nbformat")
        assert "jsonschema" in sys.modules and "rfc3987_syntax" not in sys.modules, sorted(sys.modules)
        nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))
        try:
            nbformat.validate({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"x": 1}]})
        except nbformat.ValidationError:
            pass
        else:
            raise SystemExit("an invalid notebook validated")
        import rfc3987_syntax  # noqa: F401
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr
