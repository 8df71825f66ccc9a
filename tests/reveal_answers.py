"""The help notebook's reveal answers for parts 1-7 and 6b (q11), as a student pastes them into the answer cells.

They come from solutions/hints.yaml through ctlab.reveal (the reveal code as the help notebook shows it;
part 1 without its closing look at the frames, part 7's example IDs put straight into the contract
variable). The corpus generators build on them (tests/test_report_demo.py for the demo submissions,
tests/submissions/make_corpus.py for the grading corpus) and the grader must give them full marks.
`paste_reveals` pastes the reveals themselves into the student notebook (tests/test_notebooks.py,
tests/test_student_env.py). Part 8 (the triage summary) is written prose graded by hand; each corpus
brings its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from ctlab.reveal import HINTS, answer_cells, reveal_code, without_display

ROOT = Path(__file__).resolve().parents[1]

# question -> the answer cell's code
REVEAL: dict[str, str] = answer_cells(ROOT / HINTS)
PARSE = REVEAL["q2"]
IOCS = REVEAL["q11"]
MITRE_IDS: list[str] = re.findall(r'"(T[\d.]+)"', REVEAL["q7"])

__all__ = ["IOCS", "MITRE_IDS", "PARSE", "REVEAL", "help_reveals", "paste_reveals", "without_display"]


def help_reveals(hints_path: Path) -> dict[str, str]:
    """{question: reveal code} of the help notebook's sections, as solutions/hints.yaml holds them."""
    return reveal_code(Path(hints_path))


def paste_reveals(nb, reveals: dict[str, str]) -> list[str]:
    """Paste each reveal into its part's answer cell of the student notebook, as a student would.

    An answer cell belongs to the question of the next `grader.check` cell, except part 8's (no check):
    the one that starts with `triage_summary`. Returns the questions pasted, in notebook order."""
    pasted, waiting = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "otter_assign_solution_cell" in cell.metadata.get("tags", []):
            if cell.source.startswith("triage_summary"):  # part 8's, never another part's answer cell
                if "q8" in reveals:
                    cell.source = reveals["q8"]
                    pasted.append("q8")
            else:
                waiting.append(cell)
            continue
        m = re.fullmatch(r'grader\.check\("(q\d+)"\)', cell.source.strip())
        if m and waiting:
            if m.group(1) in reveals:
                assert len(waiting) == 1, f"{m.group(1)} has {len(waiting)} answer cells"
                waiting[0].source = reveals[m.group(1)]
                pasted.append(m.group(1))
            waiting = []
    return pasted
