"""A student's set-up from assignment/ alone: a fresh virtual environment, `pip install -r
requirements.txt` (pip's own cache may serve the wheels), then the student notebook with the help
notebook's reveals pasted in, run by that environment's own kernel: full marks on parts 1-7, hidden
tests included. Also: requirements.txt and README.md agree with the grader's pins.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from reveal_answers import help_reveals, paste_reveals
from student_ids import FIRST, fill
from test_notebooks import AUTOGRADED, FULL, GRADE_CELL, MARK

from ctlab.build.handout import KERNEL_PACKAGES, project_pins

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "assignment" / "requirements.txt"
PARTS = ["q1", "q2", "q3", "q4", "q5", "q6", "q11", "q7", "q12"]  # notebook order: 6b follows 6, 8b comes last

RUN = """
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[1])
"""


def _requirements() -> dict[str, str]:
    lines = [line for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("==") for line in lines)


def test_requirements_pin_what_the_grader_runs():
    pins = project_pins(ROOT / "pyproject.toml")
    assert _requirements() == {name: pins[name] for name in KERNEL_PACKAGES}
    readme = (ROOT / "assignment" / "README.md").read_text()
    assert f"python -m pip install -r requirements.txt jupyterlab=={pins['jupyterlab']}" in readme
    for name in KERNEL_PACKAGES:
        assert f"{name} {pins[name]}" in readme


def test_build_stops_when_the_master_requirements_drift(tmp_path):
    from ctlab.build.handout import check_master_requirements
    from ctlab.errors import CtlabError

    pins = project_pins(ROOT / "pyproject.toml")
    check_master_requirements([f"pandas=={pins['pandas']}"], pins, where="m.ipynb")
    with pytest.raises(CtlabError, match=r"^m\.ipynb: requirement pandas==2\.0\.0 differs from pyproject\.toml "
                                         rf"\(pandas=={pins['pandas']}\)$"):
        check_master_requirements(["pandas==2.0.0"], pins, where="m.ipynb")


@pytest.mark.slow
def test_fresh_venv_from_requirements_runs_the_reveals_to_full_marks(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH")}
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-compile", "-r", str(REQUIREMENTS)],
                         env=env, capture_output=True, text=True, timeout=1800)
    assert pip.returncode == 0, pip.stderr[-3000:]

    work = tmp_path / "work"
    shutil.copytree(ROOT / "assignment" / "data", work / "data")
    # the hidden tests read the key the grader puts beside the logs: variant 1's, which FIRST chooses
    key = json.loads((ROOT / "autograder" / "answer_keys.json").read_text())["v01"]
    (work / "data" / "answer_key.json").write_text(json.dumps(key))
    nb = fill(nbformat.read(ROOT / "assignment" / "scenario03b.ipynb", as_version=4), FIRST)
    assert paste_reveals(nb, help_reveals(ROOT / "solutions" / "hints.yaml")) == PARTS[:-1] + ["q8", "q12"]
    nb.cells.pop()  # the submission cell: no front end here to save the notebook
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint('@@PREFIX@@' + sys.prefix)"))
    nb.cells.append(nbformat.v4.new_code_cell(GRADE_CELL))
    path = work / "scenario03b.ipynb"
    nbformat.write(nb, path)
    run = subprocess.run([str(python), "-c", RUN, str(path), str(work)], env=env, cwd=work,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]

    ran = nbformat.read(path, as_version=4)
    text = "\n".join(o.get("text", "") for c in ran.cells if c.cell_type == "code" for o in c.outputs)
    prefix = next(line for line in text.splitlines() if line.startswith("@@PREFIX@@"))[len("@@PREFIX@@"):]
    assert Path(prefix) == venv, "the notebook ran in another environment"
    scores = json.loads(next(line for line in text.splitlines() if line.startswith(MARK))[len(MARK):])
    assert {q: round(scores[q]["score"], 3) for q in AUTOGRADED} == {**{q: FULL[q] for q in PARTS}, "q9": 0, "q10": 0}
