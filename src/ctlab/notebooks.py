"""The hint texts and the notebooks made from them.

`solutions/hints.yaml` is the one source of the hints: the help notebook is generated from it, and the
`<!-- hints qN -->` markers in the master notebook's prompts become collapsed <details> blocks with the
same first and second hints and a link to the matching help section.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import nbformat
import yaml

from ctlab.errors import CtlabError

HELP_NOTEBOOK = "scenario03b-help.ipynb"
HINT_MARKER = re.compile(r"<!--\s*hints\s+(q\d+)\s*-->")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_KEPT_CELL_METADATA = ("tags", "deletable", "editable")


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
    for entry in data["sections"] + data.get("stretch", []):
        for key in ("question", "hint1", "hint2"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise CtlabError(f"{path}: entry {entry.get('question') or entry.get('number')} lacks '{key}'")
    for entry in data["sections"]:
        for key in ("title", "goal", "reveal"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise CtlabError(f"{path}: section {entry['number']} lacks '{key}'")
    return data


def _by_question(hints: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["question"]: e for e in hints["sections"] + hints.get("stretch", [])}


def details_block(entry: dict[str, Any]) -> str:
    """The in-place hints of one part: two collapsed blocks and, for parts 1-8, the help link."""
    parts = []
    for label, key in (("First hint", "hint1"), ("Second hint", "hint2")):
        parts.append(f"<details><summary>{label}</summary>\n\n{entry[key].strip()}\n\n</details>")
    if "number" in entry:
        n = entry["number"]
        parts.append(
            f"More help: [section {n} of the help notebook]({HELP_NOTEBOOK}#help-{n}) "
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


def help_notebook(hints: dict[str, Any]) -> nbformat.NotebookNode:
    """The help notebook: intro, a setup cell, then 8 sections of goal, two hints and a reveal."""
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell(
            "# Scenario 03B: help notebook (AWS IAM & CloudTrail)\n\n" + hints.get("intro", "").strip()
        ),
        v4.new_code_cell(hints.get("setup", "").strip()),
    ]
    for s in hints["sections"]:
        n = s["number"]
        cells.append(
            v4.new_markdown_cell(f'<a id="help-{n}"></a>\n## {n}. {s["title"]}\n\n**Goal:** {s["goal"].strip()}')
        )
        cells.append(v4.new_markdown_cell(f"### First hint\n\n{s['hint1'].strip()}"))
        cells.append(v4.new_markdown_cell(f"### Second hint\n\n{s['hint2'].strip()}"))
        note = s.get("reveal_note", "").strip()
        cells.append(v4.new_markdown_cell("### Reveal (optional)" + (f"\n\n{note}" if note else "")))
        cells.append(v4.new_code_cell(s["reveal"].rstrip("\n")))
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    return normalize(nb, prefix="help")


def normalize(nb: nbformat.NotebookNode, *, prefix: str) -> nbformat.NotebookNode:
    """Strip outputs and metadata noise and give cells stable ids, so rebuilding is byte-identical."""
    nb = copy.deepcopy(nb)
    keep = {k: nb.metadata[k] for k in ("kernelspec", "otter") if k in nb.metadata}
    keep.setdefault("kernelspec", KERNELSPEC)
    keep["language_info"] = {"name": "python"}
    nb.metadata = nbformat.from_dict(keep)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{prefix}-{i:03d}"
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in _KEPT_CELL_METADATA if k in cell.metadata})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None)
    return nb


def dumps(nb: nbformat.NotebookNode) -> bytes:
    """Serialize a notebook the same way every time."""
    nbformat.validate(nb)
    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")
