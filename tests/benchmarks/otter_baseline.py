"""The baseline's autograder for `otter run`, for the benchmarks that time it against ctlab.

`otter run -a autograder/scenario03b-autograder.zip` runs the notebook and the same test files, but
the hidden tests of parts 6b and 9 read the answer key of the submission's variant at
data/answer_key.json, which ctlab lays out for its own test processes and otter cannot: it knows
no variants. So each variant gets a copy of the zip with its key at files/data/answer_key.json
(otter copies files/ beside the notebook), and each submission is run with its variant's copy. Then
otter does the same work as ctlab and gives the same scores, which the benchmarks check.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import nbformat

from ctlab import variants
from ctlab.grading import student_ids


class OtterZips:
    """One autograder zip per variant, made on first use under `work`."""

    def __init__(self, work: Path, source: Path) -> None:
        self.work, self.source = Path(work), Path(source)
        with zipfile.ZipFile(self.source) as zf:
            self.keys: dict[str, object] = json.loads(zf.read("answer_keys.json"))
        self.made: dict[str, Path] = {}

    def for_notebook(self, notebook: Path) -> Path:
        """The zip that grades `notebook`: its STUDENT_ID's variant's (variant 1's without one)."""
        nb = nbformat.read(notebook, as_version=4)
        cells = [c.source for c in nb.cells if c.cell_type == "code"]
        reading = student_ids.read(cells, count=len(self.keys))
        label = variants.label(reading.variant or 1)
        if label not in self.made:
            path = self.work / f"otter-autograder-{label}.zip"
            shutil.copyfile(self.source, path)
            with zipfile.ZipFile(path, "a") as zf:
                zf.writestr("files/data/answer_key.json", json.dumps(self.keys[label]))
            self.made[label] = path
        return self.made[label]
