"""The help notebook's reveal code, run: the one source of the reference answers.

`solutions/hints.yaml` holds the course author's reveal cells, which the help notebook shows and which
earn full marks when pasted into the answer cells. The report's right answers and the test corpora's
full-marks answers come from running or pasting that code, never from a copy of it.

The reveal code reads the exercise's logs at the relative path `data/`, as in a student's folder. Run
here, those path literals are pointed at the data folder asked for, so no working directory changes.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable
from pathlib import Path

from ctlab.build.notebooks import Checks, help_sections, load_hints
from ctlab.build.sources import HINTS
from ctlab.contract import MANUAL_QUESTIONS, QUESTIONS
from ctlab.errors import CtlabError

CHECK_FUNCTION = "reveal"  # the function of solutions/checks.py whose body `ctlab build` fills in
# This checkout's hints, for callers that have a data folder but no project folder (the report).
PROJECT_HINTS = Path(__file__).resolve().parents[2] / HINTS
DATA_PREFIX = "data/"


def setup_code(hints: Path) -> str:
    """The help notebook's setup cell (its imports)."""
    return str(load_hints(hints).get("setup", "")).strip()


def reveal_code(hints: Path) -> dict[str, str]:
    """{question: reveal code} in help-notebook order (6b after 6), as the help notebook shows it."""
    return {str(s["question"]): str(s["reveal"]).rstrip("\n") for s in help_sections(load_hints(hints))}


def part_questions(hints: Path) -> list[str]:
    """The questions of the help notebook's parts 1-8, without its extra sections (6b)."""
    return [str(s["question"]) for s in load_hints(hints)["sections"]]


def without_display(code: str) -> str:
    """`code` without a closing expression that only shows a result (`susp_api.head()`, `susp_users`)."""
    last = ast.parse(code).body[-1]
    if not isinstance(last, ast.Expr):
        return code
    return "\n".join(code.splitlines()[: last.lineno - 1])


def answer_cells(hints: Path) -> dict[str, str]:
    """{question: code} of the reveals as a student pastes them into the answer cells of the student
    notebook: the reveal code, except part 1's without its closing look at the frames, and part 7's list
    put straight into `mitre_techniques`. Part 8 (prose graded by hand) is left out."""
    reveals = reveal_code(hints)
    cells = {q: code for q, code in reveals.items() if q not in MANUAL_QUESTIONS}
    cells["q1"] = without_display(reveals["q1"])
    shown: dict[str, object] = {}
    exec(reveals["q7"], shown)
    techniques = shown["mitre_techniques"]
    if not isinstance(techniques, list):
        raise CtlabError(f"{hints}: the reveal of q7 should set mitre_techniques to a list")
    cells["q7"] = "mitre_techniques = [" + ", ".join(f'"{t}"' for t in techniques) + "]\nmitre_techniques"
    return cells


class _DataPaths(ast.NodeTransformer):
    """Points the string literals `data/<file>` at a data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str) and node.value.startswith(DATA_PREFIX):
            return ast.copy_location(ast.Constant(str(self.data_dir / node.value[len(DATA_PREFIX):])), node)
        return node


def run_reveals(*, hints: Path, data_dir: Path, questions: Iterable[str]) -> dict[str, object]:
    """The contract variables of `questions` as the setup cell and their reveal cells compute them on
    `data_dir`. The cells run in help-notebook order, each without its closing display; the code is the
    course author's own (trusted), run in a namespace of its own."""
    wanted = set(questions)
    reveals = reveal_code(hints)
    unknown = sorted(wanted - set(reveals))
    if unknown:
        raise CtlabError(f"{hints}: no reveal code for {', '.join(unknown)}")
    cells = [setup_code(hints)] + [without_display(code) for q, code in reveals.items() if q in wanted]
    namespace: dict[str, object] = {}
    for cell in cells:
        tree = ast.fix_missing_locations(_DataPaths(Path(data_dir)).visit(ast.parse(cell)))
        try:
            exec(compile(tree, str(hints), "exec"), namespace)
        except (OSError, ValueError) as exc:
            raise CtlabError(f"{data_dir}: cannot read the exercise data ({exc})") from None
    names = dict.fromkeys(v for q in reveals if q in wanted for v in QUESTIONS.get(q, ()))
    return {name: namespace[name] for name in names if name in namespace}


def with_reveals(checks: Checks, hints: Path) -> Checks:
    """`checks` with the body of its `reveal(question, **frames)` replaced by code that runs the reveal
    code (without its closing display) of the questions the check functions pass to it, on `frames`
    and `pd`, and returns the variables it sets. So the tests' reference answers are the help notebook's."""
    if CHECK_FUNCTION not in checks.code:
        return checks
    asked: set[str] = set()
    for lines in checks.code.values():
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == CHECK_FUNCTION:
                first = node.args[0] if node.args else None
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    raise CtlabError(f"{checks.path}: {CHECK_FUNCTION}() needs the question as a string literal")
                asked.add(first.value)
    reveals = reveal_code(hints)
    unknown = sorted(asked - set(reveals))
    if unknown:
        raise CtlabError(f"{checks.path}: {CHECK_FUNCTION}() is asked for {', '.join(unknown)}, which {hints} has no reveal for")
    code = [f"def {CHECK_FUNCTION}(question, **frames):", "    code = {"]
    code += [f"        {q!r}: {without_display(reveals[q])!r}," for q in sorted(asked)]
    code += ["    }[question]", '    names = {"pd": pd, **frames}', "    exec(code, names)", "    return names"]
    uses = checks.uses[CHECK_FUNCTION] | ({"pd"} & set(checks.imports))
    return dataclasses.replace(checks, code={**checks.code, CHECK_FUNCTION: code},
                               uses={**checks.uses, CHECK_FUNCTION: frozenset(uses)})
