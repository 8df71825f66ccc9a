"""Which variant a submission is graded against: the STUDENT_ID its notebook sets, read as data.

The id is read from the notebook's code cells on the trusted side, never from what the notebook's run
produced: only a plain `STUDENT_ID = "..."` assignment counts. A notebook with none, with an id that
cannot choose a variant, with an id set by code, or with two different ids in different cells is not
graded (each says so in its own words), so nobody is graded against a variant they never saw.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from ctlab import variants
from ctlab.grading.worker.cells import prepare_source
from ctlab.safetext import quoted

NAME = variants.ID_VARIABLE


@dataclass(frozen=True)
class Reading:
    """The STUDENT_ID of a notebook (normalised) and its variant, or why there is none."""

    student_id: str = ""
    variant: int = 0
    problem: str = ""  # the status sentence when the notebook cannot be graded


def _targets(node: ast.AST) -> list[ast.AST]:
    """What a statement binds to (assignment targets, loop and `with` variables, ...)."""
    if isinstance(node, (ast.Assign, ast.Delete)):
        return list(node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr, ast.comprehension)):
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [i.optional_vars for i in node.items if i.optional_vars is not None]
    return []


def _bindings(tree: ast.AST) -> list[ast.expr | None]:
    """For every statement that binds STUDENT_ID: its value when it is a plain `STUDENT_ID = value`
    (or `STUDENT_ID: str = value`), else None."""
    found: list[ast.expr | None] = []
    for node in ast.walk(tree):
        targets = _targets(node)
        if any(isinstance(n, ast.Name) and n.id == NAME for t in targets for n in ast.walk(t)):
            plain = (isinstance(node, (ast.Assign, ast.AnnAssign)) and len(targets) == 1
                     and isinstance(targets[0], ast.Name))
            found.append(node.value if plain and isinstance(node, (ast.Assign, ast.AnnAssign)) else None)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == NAME:
            found.append(None)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == NAME for a in node.names):
            found.append(None)
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and NAME in node.names:
            found.append(None)
    return found


def _bound(source: str) -> tuple[str | None, ...]:
    """What one cell binds STUDENT_ID to: each id typed in quotes, None for one set any other way."""
    try:
        tree = ast.parse(prepare_source(source))  # as the cell runs: magics and shell lines do nothing
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()  # a cell that cannot run binds nothing
    return tuple(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else None
                 for v in _bindings(tree))


# Every notebook of a class holds the same set-up cell, which names STUDENT_ID: parsed once per process.
CACHED_CHARS = 64 * 1024
_bound_cached = functools.lru_cache(maxsize=32)(_bound)


def read(cells: list[str], *, count: int) -> Reading:
    """The notebook's STUDENT_ID and its variant of `count`, or the reason it has none."""
    values: list[tuple[int, str]] = []  # (code cell, 1-based; the id as written)
    for index, source in enumerate(cells, start=1):
        if NAME not in source:
            continue
        for value in _bound_cached(source) if len(source) <= CACHED_CHARS else _bound(source):
            if value is None:
                return Reading(problem=f"not graded: {NAME} is set by code in cell {index}, not typed in quotes; "
                                       f"put your id in the {NAME} cell before part 1")
            values.append((index, value))
    if not values:
        return Reading(problem=f"not graded: the notebook sets no {NAME} (its cell before part 1 is gone); "
                               "put it back, type your id and run the notebook again")
    ids = {variants.normalise(v) for _, v in values}
    if len(ids) > 1:
        shown = ", ".join(f"cell {i}: {quoted(v, limit=60)}" for i, v in values[:4])
        return Reading(problem=f"not graded: {NAME} changes between cells ({shown}); keep only the one before part 1")
    written = values[-1][1]
    problem = variants.problem_with(written)
    if problem:
        return Reading(problem=f"not graded: {problem}; type your id in the {NAME} cell before part 1 "
                               "and run the notebook again")
    return Reading(student_id=variants.normalise(written), variant=variants.variant_of(written, count))
