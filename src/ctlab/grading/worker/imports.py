"""Importing nbformat (directly, or through otter) without jsonschema's optional IRI checker.

jsonschema registers a checker for the `iri` and `iri-reference` formats when the package
`rfc3987_syntax` can be imported, and that package builds an Earley parser from its grammar at
import time: about 2 s of CPU in every process that imports nbformat, more than pandas and numpy
together. Nothing ctlab does checks those formats (nbformat's schema has none, and format
checking is off in validation), so the processes that grade import nbformat with that package
marked missing; jsonschema then simply leaves the two formats unchecked. A submission that
imports `rfc3987_syntax` itself still gets it: the mark is removed once jsonschema is loaded.

Used by the grading process (reading notebooks), the test processes and the worker's zygote;
imports nothing from ctlab.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

SKIPPED = ("rfc3987_syntax",)


def import_without_iri_checker(name: str) -> ModuleType:
    """Import module `name` with SKIPPED marked missing while jsonschema is first imported."""
    marked = [m for m in SKIPPED if m not in sys.modules]
    for m in marked:
        sys.modules[m] = None  # type: ignore[assignment]  # the import system's mark for "not found"
    try:
        return importlib.import_module(name)
    finally:
        for m in marked:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]
