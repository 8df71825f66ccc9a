"""`ctlab build` (ctlab.build.generate) and the pieces it is made of.

Kept empty of imports: the report and the grader import light modules of this package (sources,
answer_key), and the build's own imports (nbformat, otter, jinja2) cost them about a second.
`from ctlab.build import build` still works; it imports ctlab.build.generate on first use.
"""

from __future__ import annotations

from typing import Any

_GENERATE = ("BuildSummary", "build", "expanded_master", "render", "NAME", "MASTER", "HINTS", "CHECKS", "RUBRIC",
             "DATA_FILES", "TRANSFER", "TRANSFER_FILES", "ZIP_NAME")


def __getattr__(name: str) -> Any:
    if name in _GENERATE:
        from ctlab.build import generate

        return getattr(generate, name)
    raise AttributeError(f"module 'ctlab.build' has no attribute {name!r}")
