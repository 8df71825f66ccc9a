"""What the zygote loads once, before any job, so that each submission pays only for its own code."""

from __future__ import annotations

import importlib
import os
import tempfile

from ctlab.grading import snapshot as snap
from ctlab.grading.worker.imports import import_without_iri_checker

# What students commonly use, in the order they were always loaded (matplotlib's backend is set
# between the first group and pyplot).
LIBRARIES = ("matplotlib", "numpy", "pandas", "pyarrow", "pyarrow.parquet")
STDLIB = ("collections", "csv", "datetime", "functools", "glob", "hashlib", "ipaddress", "itertools", "json",
          "math", "pathlib", "random", "re", "socket", "statistics", "string", "subprocess", "textwrap", "zipfile",
          # zipfile decodes member names with it: the set-up cell unpacks the student's variant
          # (assignment/data/variants/vNN.zip), and the fallback sandbox's user cannot load it later
          "encodings.cp437")
OPTIONAL = ("otter",)  # the student notebook imports otter for grader.check; preloaded if present


def preload() -> None:
    """Import the libraries submissions use (matplotlib with the Agg backend)."""
    for name in LIBRARIES:
        importlib.import_module(name)
    importlib.import_module("matplotlib").use("Agg")
    for name in STDLIB:
        importlib.import_module(name)
    importlib.import_module("matplotlib.pyplot")
    for name in OPTIONAL:
        try:
            import_without_iri_checker(name)
        except Exception:  # pragma: no cover
            pass


def warm_up() -> None:
    """Load what saving a snapshot imports lazily, so the sandbox user never needs the disk for it."""
    import pandas

    frame = pandas.DataFrame({"a": [1, 2], "b": ["x", None],
                              # None becomes NaT; pandas-stubs leave None out of the list's type.
                              "t": pandas.to_datetime(["2024-01-01", None], utc=True)})  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as d:
        snap.write_snapshot({"f": frame, "s": frame["a"], "l": [1, (2,), {3}]}, ["f", "s", "l"], os.path.join(d, "s"), 0)
        snap.load_snapshot(os.path.join(d, "s"))
