"""The files `ctlab build` generates assignment/ and autograder/ from, and whether they changed since.

The build records each source's SHA-256 in autograder/manifest.json; `ctlab grade` compares them
with the files on disk, so an edited master notebook or new data cannot be graded with the tests
of an older build. Contents are compared, not times: a fresh clone gives every file a new time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HINTS = Path("solutions") / "hints.yaml"  # the hints and reveal code (ctlab.build.notebooks, ctlab.reveal)
SOURCES = ("solutions/scenario03b.ipynb", str(HINTS), "solutions/checks.py", "solutions/rubric.md",
           "data/cloud_iam.csv", "data/cloud_api.csv", "data/transfer/cloud_iam.csv", "data/transfer/cloud_api.csv",
           "data/transfer/ground_truth.json")
MANIFEST = Path("autograder") / "manifest.json"


def digests(root: Path) -> dict[str, str]:
    """{source: sha256} of the sources present under root."""
    found = {}
    for rel in SOURCES:
        path = Path(root) / rel
        if path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def changed_since_build(root: Path) -> list[str]:
    """Sources that differ from what the last build used (none when the sources are not here,
    as on a grading machine that only has autograder/ and assignment/)."""
    try:
        built = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8")).get("sources", {})
    except (OSError, ValueError, AttributeError):
        built = {}
    now = digests(root)
    if not now:
        return []
    if not isinstance(built, dict) or not built:
        return sorted(now)
    return sorted(rel for rel in set(now) | set(built) if now.get(rel) != built.get(rel) and rel in now)
