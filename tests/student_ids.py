"""Student ids for the notebook corpora: which id gives which variant of the committed build.

Corpus notebooks are graded against the variant their STUDENT_ID chooses. The corpora made from the
student notebook fill its `STUDENT_ID = ""` cell (`fill`); those made of bare code cells carry the id
and the set-up code in their first cell (`head_code`), so their cell numbers stay as they were.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from ctlab import variants

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = variants.recorded(ROOT)
BLANK = f'{variants.ID_VARIABLE} = ""'


def id_for(variant: int, *, count: int | None = None, prefix: str = "student") -> str:
    """The first id `<prefix>N@example.edu` (N = 1, 2, ...) that chooses `variant` of `count`."""
    count = count or SETTINGS.count
    n = 1
    while variants.variant_of(f"{prefix}{n}@example.edu", count) != variant:
        n += 1
    return f"{prefix}{n}@example.edu"


def id_line(student_id: str) -> str:
    return f'{variants.ID_VARIABLE} = "{student_id}"'


def fill(nb: nbformat.NotebookNode, student_id: str) -> nbformat.NotebookNode:
    """The student notebook with `student_id` typed into its STUDENT_ID cell."""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source == BLANK]
    assert len(cells) == 1, f"expected one {BLANK!r} cell, found {len(cells)}"
    cells[0].source = id_line(student_id)
    return nb


def head_code(student_id: str) -> str:
    """The id and the set-up code of the committed build, as one cell's code."""
    return id_line(student_id) + "\n" + variants.setup_code(count=SETTINGS.count, id_words=SETTINGS.id_words)


FIRST = id_for(1)  # the id every corpus notebook is written under: variant 1 is data/ itself
