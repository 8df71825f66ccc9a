"""The hint texts and the notebooks made from them.

`solutions/hints.yaml` is the one source of the hints: the help notebook is generated from it, and the
`<!-- hints qN -->` markers in the master notebook's prompts become collapsed <details> blocks with the
same first and second hints and a link to the matching help section.

In the help notebook a section is its heading alone in a cell (id `help-N`), a cell with the goal and
the two hints folded in <details> blocks, and the reveal (a note and the code) under a `### Reveal
(optional)` heading that JupyterLab shows collapsed (the cell metadata it saves for a collapsed heading).
JupyterLab opens a link `scenario03b-help.ipynb#cell-id=help-N` on the heading cell (its other fragment
kinds look for rendered anchors, which are not there yet when the link opens).

Why this shape (each measured in a real JupyterLab, tests/benchmarks/bench_help_link.py):
- JupyterLab adds a notebook's cells a few at a time while the browser is idle, and a link waits at
  most 10 s for its cell: with one cell per hint (82 cells), sections 7 and 8b were not there in time
  on a machine 4x slower and the first click left the notebook at the top. 52 cells are.
- JupyterLab sizes a cell it has not drawn yet by its source. A cell whose source is much taller than
  what it shows shrinks once drawn, and the linked heading below it moves out of view; so the heading
  is a cell of its own and each folded hint is one line of HTML.
- A collapsed heading is cell metadata: unfolding it changes the notebook (the kernel's language_info
  already marks it modified on open), so autosave writes the unfolded state back and the next open
  starts unfolded. A <details> block is open or closed only on screen, never in the file.
"""

from __future__ import annotations

import ast
import builtins
import copy
import re
import symtable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mistune
import nbformat
import yaml

from ctlab.errors import CtlabError

HELP_NOTEBOOK = "scenario03b-help.ipynb"
HINT_MARKER = re.compile(r"<!--\s*hints\s+(q\d+)\s*-->")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
HEADING_COLLAPSED = "jp-MarkdownHeadingCollapsed"  # what JupyterLab 4 saves for a collapsed heading
_KEPT_CELL_METADATA = ("tags", "deletable", "editable", HEADING_COLLAPSED)
# nbformat's functions carry no annotations (its notebooks and cells are dict subclasses): called through Any.
_nbformat: Any = nbformat


def load_hints(path: Path) -> dict[str, Any]:
    """Read and check solutions/hints.yaml."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CtlabError(f"{path}: missing (the hint texts)") from None
    except yaml.YAMLError as exc:
        raise CtlabError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise CtlabError(f"{path}: expected a mapping with a 'sections' list")
    numbers = [s.get("number") for s in data["sections"]]
    if numbers != list(range(1, 9)):
        raise CtlabError(f"{path}: expected sections numbered 1 to 8, found {numbers}")
    extra = data.get("extra_sections", [])
    if not isinstance(extra, list) or not all(isinstance(e, dict) for e in extra):
        raise CtlabError(f"{path}: 'extra_sections' should be a list of sections")
    for entry in extra:
        if entry.get("after") not in numbers or not str(entry.get("number", "")).strip():
            raise CtlabError(f"{path}: extra section {entry.get('number')} needs a 'number' and an 'after' of 1 to 8")
    for entry in data["sections"] + extra + data.get("stretch", []):
        for key in ("question", "hint1", "hint2"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise CtlabError(f"{path}: entry {entry.get('question') or entry.get('number')} lacks '{key}'")
    for entry in data["sections"] + extra:
        for key in ("title", "goal", "reveal"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise CtlabError(f"{path}: section {entry['number']} lacks '{key}'")
    return data


def help_sections(hints: dict[str, Any]) -> list[dict[str, Any]]:
    """The help notebook's sections in its order: parts 1-8, each extra section after the part it continues."""
    extra = hints.get("extra_sections", [])
    return [x for s in hints["sections"] for x in [s, *(e for e in extra if e["after"] == s["number"])]]


def _by_question(hints: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["question"]: e for e in hints["sections"] + hints.get("extra_sections", []) + hints.get("stretch", [])}


def help_link(number: int) -> str:
    """The link to a section of the help notebook that JupyterLab opens on that section."""
    return f"{HELP_NOTEBOOK}#cell-id=help-{number}"


def details_block(entry: dict[str, Any]) -> str:
    """The in-place hints of one part: two collapsed blocks and, for parts 1-8, the help link."""
    parts = []
    for label, key in (("First hint", "hint1"), ("Second hint", "hint2")):
        parts.append(f"<details><summary>{label}</summary>\n\n{entry[key].strip()}\n\n</details>")
    if "number" in entry:
        n = entry["number"]
        parts.append(
            f"More help: [section {n} of the help notebook]({help_link(n)}) "
            "(goal, the same two hints, and a reveal cell)."
        )
    return "\n\n".join(parts)


def expand_hint_markers(nb: nbformat.NotebookNode, hints: dict[str, Any], *, source: str) -> nbformat.NotebookNode:
    """Replace every `<!-- hints qN -->` marker in markdown cells with that part's hint blocks."""
    nb = copy.deepcopy(nb)
    table = _by_question(hints)
    seen = set()
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue

        def sub(m: re.Match[str]) -> str:
            q = m.group(1)
            if q not in table:
                raise CtlabError(f"{source}: a prompt asks for hints of {q}, which hints.yaml does not have")
            seen.add(q)
            return details_block(table[q])

        cell.source = HINT_MARKER.sub(sub, cell.source)
    unused = sorted(set(table) - seen)
    if unused:
        raise CtlabError(f"{source}: no '<!-- hints ... -->' marker for {', '.join(unused)}")
    return nb


def _folded(summary: str, body: str) -> str:
    """A <details> block on one line, its markdown made HTML here (see help_section_text)."""
    html = str(mistune.html(body))
    return f"<details><summary>{summary}</summary>{' '.join(line.strip() for line in html.splitlines())}</details>"


def help_section_text(section: dict[str, Any]) -> str:
    """The text cell of one help section: the goal and the two hints, each folded, one line each, so
    that its source is about as tall as what it shows."""
    return "\n".join([
        f"**Goal:** {section['goal'].strip()}",
        _folded("First hint", section["hint1"].strip()),
        _folded("Second hint", section["hint2"].strip()),
    ])


def help_notebook(hints: dict[str, Any]) -> nbformat.NotebookNode:
    """The help notebook: intro, a setup cell, then a section per part (1-8 and the extra sections, each
    after the part it continues): its heading, its text (goal and two folded hints) and its reveal under
    a collapsed heading."""
    v4 = _nbformat.v4
    cells = [
        v4.new_markdown_cell(
            "# Scenario 03B: help notebook (AWS IAM & CloudTrail)\n\n" + hints.get("intro", "").strip(),
            id="help-intro",
        ),
        v4.new_code_cell(hints.get("setup", "").strip(), id="help-setup"),
    ]
    for s in help_sections(hints):
        n = s["number"]
        cells.append(v4.new_markdown_cell(f"## {n}. {s['title']}", id=f"help-{n}"))
        cells.append(v4.new_markdown_cell(help_section_text(s), id=f"help-{n}-text"))
        cells.append(v4.new_markdown_cell("### Reveal (optional)", id=f"help-{n}-reveal",
                                          metadata={HEADING_COLLAPSED: True}))
        note = s.get("reveal_note", "").strip()
        if note:
            cells.append(v4.new_markdown_cell(note, id=f"help-{n}-reveal-note"))
        cells.append(v4.new_code_cell(s["reveal"].rstrip("\n"), id=f"help-{n}-reveal-code"))
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    return normalize(nb, prefix="help", keep_ids=True)


NOTEBOOK = "scenario03b.ipynb"
NOT_SAVED = "NOT SAVED:"

SUBMISSION_TEXT = f"""## Submission

Run the whole notebook first (**Run > Run All Cells**), so that the zip holds your outputs too, then run
the cell below. It saves the notebook as you see it (in JupyterLab and Jupyter Notebook), runs the public
tests on the saved copy and writes `scenario03b_<date and time>.zip` beside the notebook, with a link to
download it. Its last line names the zip to submit (the newest: zips from earlier runs stay beside it).

If the cell prints **{NOT_SAVED}** (some editors, such as VS Code, do not let it save), the zip holds the
version you saved last: save the notebook yourself (**File > Save Notebook**, Ctrl+S) and run the cell
again."""

EXPORT_NOISE = "Kernel is running over TCP without encryption"
ZIP_NAMED = "Submit this file:"

# otter's force_save asks the front end to save (JavaScript for classic Notebook, ipylab's command for
# JupyterLab) and only warns once when nothing saved the file; the mtime check says so every time, last.
# The local test run's kernel logs that it listens over TCP on this machine, which otter passes on as a
# warning: noise to a student, so that line (and only it) is dropped. The newest zip is named last.
EXPORT_CODE = f"""# Saves this notebook as you see it, then writes the zip to submit.
import glob, os, time, warnings
_saved_at = os.path.getmtime("{NOTEBOOK}")
with warnings.catch_warnings(record=True) as _caught:
    warnings.simplefilter("always")
    grader.export(pdf=False, force_save=True, run_tests=True)
for _w in _caught:  # the local test run's kernel says it listens over TCP on this machine: noise here
    _lines = str(_w.message).splitlines()
    _rest = "\\n".join(ln for ln in _lines if ln.strip() and "{EXPORT_NOISE}" not in ln)
    if _rest:
        warnings.warn_explicit(_rest, _w.category, _w.filename, _w.lineno)
_zips = sorted(glob.glob("scenario03b_*.zip"), key=os.path.getmtime)
if _zips:
    print("{ZIP_NAMED}", _zips[-1], "(the newest zip here; older ones are from earlier runs)")
if os.path.getmtime("{NOTEBOOK}") == _saved_at:
    print("{NOT_SAVED} the notebook could not be saved from here, so the zip holds the version saved at",
          time.strftime("%H:%M", time.localtime(_saved_at)), "and not what you see now. Save it yourself",
          "(File > Save Notebook, or Ctrl+S), then run this cell again.")"""


def submission_cells() -> list[nbformat.NotebookNode]:
    """The student notebook's last cells: how to submit, and the cell that saves and exports."""
    locked = {"deletable": False, "editable": False}
    return [
        _nbformat.v4.new_markdown_cell(SUBMISSION_TEXT, metadata=dict(locked)),
        _nbformat.v4.new_code_cell(EXPORT_CODE, metadata=dict(locked)),
    ]


def normalize(nb: nbformat.NotebookNode, *, prefix: str, keep_ids: bool = False) -> nbformat.NotebookNode:
    """Strip outputs and metadata noise and give cells stable ids, so rebuilding is byte-identical.

    keep_ids: the cells already have meaningful ids (links point at them); keep those."""
    nb = copy.deepcopy(nb)
    keep = {k: nb.metadata[k] for k in ("kernelspec", "otter") if k in nb.metadata}
    keep.setdefault("kernelspec", KERNELSPEC)
    keep["language_info"] = {"name": "python"}
    nb.metadata = _nbformat.from_dict(keep)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        if not keep_ids:
            cell["id"] = f"{prefix}-{i:03d}"
        cell.metadata = _nbformat.from_dict({k: cell.metadata[k] for k in _KEPT_CELL_METADATA if k in cell.metadata})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None)
    return nb


def dumps(nb: nbformat.NotebookNode) -> bytes:
    """Serialize a notebook the same way every time."""
    _nbformat.validate(nb)
    text: str = _nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


# --- the check functions of the otter tests ---------------------------------------------------------
#
# Otter assign wants an exception-format test cell to be one function (plus its call), and the test
# files it writes must run on their own, so functions shared by several tests cannot be imported.
# solutions/checks.py holds the one copy of each; the master's test cells call them by name, and
# inline_checks() copies into every test function the ones it uses before otter assign runs.

TESTS_BEGIN = re.compile(r"\s*#\s*BEGIN\s+TESTS\b", re.IGNORECASE)
TESTS_END = re.compile(r"\s*#\s*END\s+TESTS\b", re.IGNORECASE)
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class Checks:
    """The functions of solutions/checks.py, ready to be copied into test functions."""

    path: str
    code: dict[str, list[str]]  # name -> source lines without the docstring, dedented; in file order
    calls: dict[str, frozenset[str]]  # name -> the other check functions it calls
    imports: dict[str, tuple[str, tuple[Any, ...]]]  # bound name -> (import statement source, identity)
    uses: dict[str, frozenset[str]]  # name -> the module's imported names it uses

    def closure(self, names: set[str]) -> list[str]:
        """The check functions `names` need, themselves included, in file order."""
        todo, seen = list(names), set()
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.calls[name])
        return [n for n in self.code if n in seen]


def _import_identity(node: ast.stmt) -> dict[str, tuple[Any, ...]]:
    """{bound name: what it is bound to} for an import statement."""
    if isinstance(node, ast.Import):
        return {(a.asname or a.name.split(".")[0]): ("import", a.name if a.asname else a.name.split(".")[0])
                for a in node.names}
    assert isinstance(node, ast.ImportFrom)
    return {(a.asname or a.name): ("from", node.module, node.level, a.name) for a in node.names}


def _global_names(table: symtable.SymbolTable) -> set[str]:
    """Names a function (or anything nested in it) reads from the global scope."""
    names = {s.get_name() for s in table.get_symbols() if s.is_global()}
    for child in table.get_children():
        names |= _global_names(child)
    return names


def _function_table(source: str, name: str, *, where: str) -> symtable.SymbolTable:
    try:
        module = symtable.symtable(source, where, "exec")
    except SyntaxError as exc:
        raise CtlabError(f"{where}: not valid Python ({exc.msg}, line {exc.lineno})") from None
    return next(t for t in module.get_children() if t.get_name() == name and t.get_type() == "function")


def load_checks(path: Path) -> Checks:
    """Read and check solutions/checks.py: imports and plain top-level functions only."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CtlabError(f"{path}: missing (the check functions of the tests)") from None
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise CtlabError(f"{path}: not valid Python ({exc.msg}, line {exc.lineno})") from None
    lines = text.splitlines()
    code: dict[str, list[str]] = {}
    imports: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(a.name == "*" for a in node.names):
                raise CtlabError(f"{path}: line {node.lineno}: name the imported names (no `import *`)")
            stmt = ast.get_source_segment(text, node) or ast.unparse(node)
            imports.update({name: (stmt, ident) for name, ident in _import_identity(node).items()})
            continue
        if not isinstance(node, ast.FunctionDef) or node.decorator_list:
            raise CtlabError(f"{path}: line {node.lineno}: only imports and undecorated functions may be at the top level")
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body = body[1:]
        if not body or body[0].lineno == node.lineno:
            raise CtlabError(f"{path}: line {node.lineno}: {node.name} needs its code on the lines after `def`")
        if node.name in code:
            raise CtlabError(f"{path}: line {node.lineno}: {node.name} is defined twice")
        keep = lines[node.lineno - 1 : node.body[0].lineno - 1] + lines[body[0].lineno - 1 : node.end_lineno]
        code[node.name] = [line[node.col_offset :] if line.strip() else "" for line in keep]
    calls, uses = {}, {}
    for name in code:
        used = _global_names(_function_table(text, name, where=str(path))) - _BUILTINS
        unknown = sorted(used - set(code) - set(imports))
        if unknown:
            raise CtlabError(f"{path}: {name} uses {', '.join(unknown)}, which the module neither imports nor defines")
        calls[name] = frozenset(used & set(code))
        uses[name] = frozenset(used & set(imports))
    return Checks(path=str(path), code=code, calls=calls, imports=imports, uses=uses)


def find_test_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells inside the `# BEGIN TESTS` ... `# END TESTS` blocks."""
    found, inside = [], False
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "raw" and TESTS_BEGIN.match(cell.source):
            inside = True
        elif cell.cell_type == "raw" and TESTS_END.match(cell.source):
            inside = False
        elif inside and cell.cell_type == "code":
            found.append(i)
    return found


def checks_used(cell_source: str, checks: Checks, *, where: str) -> tuple[ast.FunctionDef, set[str], set[str]] | None:
    """(test function, check functions it calls by name, names it binds itself) of a test cell.

    None when the cell is not a single function (otter assign reports that itself). Fails when the test
    defines a name of checks.py itself, or reads a global name that checks.py does not define.
    """
    try:
        tree = ast.parse(cell_source)
    except SyntaxError as exc:
        raise CtlabError(f"{where}: not valid Python ({exc.msg}, line {exc.lineno})") from None
    fns = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(fns) != 1:
        return None
    fn = fns[0]
    table = _function_table(cell_source, fn.name, where=where)
    own = {n.name for n in ast.walk(fn) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not fn}
    own |= {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_parameter()}
    copied = sorted(own & set(checks.code))
    if copied:
        raise CtlabError(f"{where}: {fn.name} defines {', '.join(copied)}, which {checks.path} provides: "
                         "call it by name instead")
    used = _global_names(table) - _BUILTINS
    unknown = sorted(used - set(checks.code))
    if unknown:
        raise CtlabError(f"{where}: {fn.name} uses {', '.join(unknown)}, which {checks.path} does not define")
    return fn, used, own


def _own_statements(fn: ast.FunctionDef) -> Iterator[ast.stmt]:
    """The statements of a function, nested blocks included, but not those of functions or classes in it."""
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt))


def inline_checks(nb: nbformat.NotebookNode, checks: Checks, *, source: str) -> nbformat.NotebookNode:
    """Copy into each test function of the master the check functions it uses (transitively).

    They go right after the function's leading imports, with any import of checks.py they need and the
    test lacks; the rest of the cell, its test config included, is kept as it is.
    """
    nb = copy.deepcopy(nb)
    for index in find_test_cells(nb):
        cell = nb.cells[index]
        where = f"{source}: cell {index}"
        found = checks_used(cell.source, checks, where=where)
        if found is None or not found[1]:
            continue
        fn, used, own = found
        names = checks.closure(used)
        local_imports: dict[str, tuple[Any, ...]] = {}
        k = 0  # fn.body[:k]: the docstring and the imports the function starts with
        while k < len(fn.body):
            stmt = fn.body[k]
            if not (k == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    break
            k += 1
        for stmt in _own_statements(fn):  # an import anywhere in the function binds its names there
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for name, ident in _import_identity(stmt).items():
                    local_imports.setdefault(name, ident)
        needed = sorted(set().union(*(checks.uses[n] for n in names)))
        missing: list[str] = []
        for name in needed:
            statement, ident = checks.imports[name]
            if name not in local_imports and name not in own:
                missing.append(statement)
            elif local_imports.get(name) != ident:
                raise CtlabError(f"{where}: {fn.name} binds {name} to something else than `{statement}` of {checks.path}")
        if fn.body[0].lineno == fn.lineno:
            raise CtlabError(f"{where}: {fn.name} needs its code on the lines after `def`")
        indent = " " * fn.body[0].col_offset
        at = fn.body[k - 1].end_lineno if k > 0 else fn.body[0].lineno - 1  # lines before the copies
        block = [indent + s for s in dict.fromkeys(missing)]
        for name in names:
            block += [indent + line if line else "" for line in checks.code[name]]
        lines = cell.source.split("\n")
        cell.source = "\n".join(lines[:at] + block + lines[at:])
        try:
            ast.parse(cell.source)
        except SyntaxError as exc:  # would be a bug here, not in the master
            raise CtlabError(f"{where}: copying in {', '.join(names)} broke the cell ({exc.msg})") from None
    return nb
