"""Running the same grader on Gradescope (or any host with the /autograder layout).

Gradescope unpacks the autograder zip into /autograder/source, runs setup.sh once when
building the image, then for each submission runs /autograder/run_autograder with the
student's files in /autograder/submission and expects /autograder/results/results.json.

`ctlab build` puts `gradescope_entries(project=...)` into the otter autograder zip:
  run_autograder, setup.sh             (replacing otter's)
  ctlab-src/                           this package's source (pyproject.toml with pinned deps)
beside what otter assign wrote there: tests/q*.py (public and hidden), files/data/*.csv and
otter_config.json. `run_autograder(...)` grades one submission with ctlab.grading (sandbox
included) against those tests and data, and writes results.json with the same scores
`ctlab grade` gives.

Environment variables (all optional): CTLAB_AUTOGRADER_HOME (default /autograder),
CTLAB_VENV (default $CTLAB_AUTOGRADER_HOME/ctlab-venv), CTLAB_PYTHON (setup.sh's python),
CTLAB_TIMEOUT (seconds, default 120), CTLAB_MEMORY_MB (default 2048),
CTLAB_NO_SANDBOX=1 (grade without isolation; the output says so).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlab import atomic
from ctlab.contract import MANUAL_QUESTIONS
from ctlab.errors import CtlabError
from ctlab.grading.results import Result
from ctlab.report.config import FeedbackConfig, load_feedback_config
from ctlab.report.feedback import clean_message

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SOURCE_DIR = "ctlab-src"
# Stand-in for README.md inside the zip: pip needs the file, and the real one would make the
# committed zip stale on every documentation edit.
SOURCE_README = b"# ctlab\n\nThe Scenario 03B grading engine, as shipped inside the autograder zip.\n"
# Making the exercise's data is no part of grading it; leaving it out keeps the zip stable
# while that code changes.
UNSHIPPED = {"data"}
SOURCE_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".md", ".sh", ".css", ".html", ".js", ".txt", ".toml"}

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope entry point: grade /autograder/submission with ctlab, write /autograder/results/results.json.
set -uo pipefail
AG="${CTLAB_AUTOGRADER_HOME:-/autograder}"
VENV="${CTLAB_VENV:-$AG/ctlab-venv}"
# the tests and data must not be readable by the sandbox's unprivileged user
chmod -R o-rwx "$AG/source" 2>/dev/null || true
mkdir -p "$AG/results"
exec "$VENV/bin/python" -m ctlab.gradescope \
  --autograder-dir "$AG/source" --submission-dir "$AG/submission" --results-dir "$AG/results"
"""

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope image set-up: bubblewrap (the grading sandbox) when apt allows, then ctlab
# and its pinned requirements in a virtual environment. Needs Python 3.11+ (Gradescope's
# Ubuntu 24.04 base image has 3.12).
set -euo pipefail
AG="${CTLAB_AUTOGRADER_HOME:-/autograder}"
SRC="$AG/source"
VENV="${CTLAB_VENV:-$AG/ctlab-venv}"
PY="${CTLAB_PYTHON:-python3}"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap libseccomp2 python3-venv >/dev/null) \
    || echo "warning: apt-get could not install bubblewrap; ctlab falls back to a separate user"
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "error: $PY is older than Python 3.11; choose the Ubuntu 24.04 base image" >&2; exit 1; }
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "pip==26.3"
"$VENV/bin/python" -m pip install -q "$SRC/ctlab-src"
"""


# ---------------------------------------------------------------- results.json

def gradescope_results(result: Result | Mapping[str, Any], total: float, config: FeedbackConfig,
                       mode_line: str = "") -> dict[str, Any]:
    """Gradescope's results.json for one ctlab result (or a results record as read from its file)."""
    if not isinstance(result, Result):
        result = Result.from_dict(result)
    hidden_vis = config.gradescope_hidden_visibility
    status = result.status.text or "unknown"
    tests: list[dict[str, Any]] = [{
        "name": "Grading status",
        "status": "passed" if result.status.clean else "failed",
        "output": status,
        "visibility": "visible",
    }]
    for t in result.tests:
        entry: dict[str, Any] = {
            "name": f"{t.question}: {t.name}" + (" (hidden)" if t.hidden else ""),
            "score": t.points,
            "max_score": t.max_points,
            "status": "passed" if t.passed else "failed",
            "visibility": hidden_vis if t.hidden else "visible",
        }
        # hidden tests never show their message (it may quote the test or the answer)
        entry["output"] = "" if (t.passed or t.hidden) else clean_message(t.message)
        tests.append(entry)
    manual = sorted(q for q in result.questions if q in MANUAL_QUESTIONS)
    lines = [f"Graded by ctlab: {status}.", f"Auto-graded score: {total:g}."]
    if manual:
        lines.append("q8 (the triage summary) is graded by hand and is not part of this score.")
    if mode_line:
        lines.append(mode_line)
    return {"score": float(total), "output": "\n".join(lines), "tests": tests, "stdout_visibility": "hidden"}


def _find_submission(submission_dir: Path) -> Path | None:
    if not submission_dir.is_dir():
        return None
    for pattern in ("*.ipynb", "*.zip"):
        found = sorted(p for p in submission_dir.rglob(pattern) if p.is_file() and ".ipynb_checkpoints" not in p.parts)
        if found:
            return found[0]
    return None


def _grading_root(source: Path, into: Path) -> Path:
    """Lay the unpacked otter zip out the way ctlab.grading reads a project: autograder/tests,
    autograder/otter_config.json and assignment/data, as links into `source`."""
    tests, data = source / "tests", source / "files" / "data"
    if not tests.is_dir() or not data.is_dir():
        raise CtlabError(f"{source}: no tests/ and files/data/ here; is this the unpacked ctlab autograder zip?")
    (into / "autograder").mkdir(parents=True)
    (into / "assignment").mkdir()
    (into / "autograder" / "tests").symlink_to(tests.resolve(), target_is_directory=True)
    (into / "assignment" / "data").symlink_to(data.resolve(), target_is_directory=True)
    if (source / "otter_config.json").is_file():
        (into / "autograder" / "otter_config.json").symlink_to((source / "otter_config.json").resolve())
    return into


@dataclass
class GradescopeRun:
    results_json: Path
    score: float
    status: str

    def describe(self) -> str:
        return f"score {self.score:g} ({self.status}) -> {self.results_json}"


def run_autograder(
    *, autograder_dir: Path, submission_dir: Path, results_dir: Path,
    timeout: float | None = None, memory_mb: int | None = None, no_sandbox: bool | None = None,
) -> GradescopeRun:
    """Grade the one submission in `submission_dir` and write `results_dir`/results.json."""
    from ctlab.grading.batch import grade
    from ctlab.grading.sandbox import MODE_TEXT

    autograder_dir, submission_dir, results_dir = Path(autograder_dir), Path(submission_dir), Path(results_dir)
    timeout = float(os.environ.get("CTLAB_TIMEOUT", "120")) if timeout is None else timeout
    memory_mb = int(os.environ.get("CTLAB_MEMORY_MB", "2048")) if memory_mb is None else memory_mb
    if no_sandbox is None:
        no_sandbox = os.environ.get("CTLAB_NO_SANDBOX", "") not in ("", "0")
    target = results_dir / "results.json"
    sub = _find_submission(submission_dir)
    if sub is None:
        payload = {"score": 0.0, "output": "No .ipynb (or otter export .zip) was found in the submission.",
                   "tests": [], "stdout_visibility": "hidden"}
        atomic.write_text(target, json.dumps(payload, indent=2))
        return GradescopeRun(target, 0.0, "no notebook submitted")
    with tempfile.TemporaryDirectory(prefix="ctlab-gs-") as tmp:
        root = _grading_root(autograder_dir, Path(tmp) / "root")
        config = load_feedback_config(root)
        out = Path(tmp) / "out"
        summary = grade(submissions=[sub], out=out, root=root, jobs=1, timeout=timeout, memory_mb=memory_mb,
                        no_sandbox=no_sandbox, force=True, manual=None, progress=False)
        if len(summary.results) != 1:
            raise CtlabError(f"{out / 'gradebook.csv'}: expected one row, found {len(summary.results)}")
        result, total = summary.results[0], summary.scored[0].shown_total
        payload = gradescope_results(result, total, config, MODE_TEXT.get(summary.mode, ""))
    atomic.write_text(target, json.dumps(payload, indent=2))
    return GradescopeRun(target, total, result.status.text)


# ---------------------------------------------------------------- the zip

def gradescope_entries(*, project: Path) -> dict[str, bytes]:
    """What the autograder zip needs beside otter's files, by zip path: the two Gradescope
    scripts and this package's source, so Gradescope grades with the same engine."""
    project = Path(project)
    pkg = project / "src" / "ctlab"
    if not (project / "pyproject.toml").is_file() or not pkg.is_dir():
        raise CtlabError(f"{project}: no pyproject.toml and src/ctlab here to ship to Gradescope")
    files = {
        "run_autograder": RUN_AUTOGRADER.encode(),
        "setup.sh": SETUP_SH.encode(),
        f"{SOURCE_DIR}/pyproject.toml": (project / "pyproject.toml").read_bytes(),
        f"{SOURCE_DIR}/README.md": SOURCE_README,
    }
    for path in sorted(pkg.rglob("*")):
        rel = path.relative_to(pkg)
        if rel.parts[0] in UNSHIPPED or "__pycache__" in rel.parts:
            continue
        if path.is_file() and path.suffix in SOURCE_SUFFIXES:
            files[f"{SOURCE_DIR}/{path.relative_to(project).as_posix()}"] = path.read_bytes()
    return files


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip of `entries` that is the same bytes for the same entries: sorted names, fixed dates
    and modes (scripts executable)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3
            executable = name in ("run_autograder", "setup.sh") or name.endswith(".sh")
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name], compresslevel=9)
    return buf.getvalue()


def add_gradescope_files(zip_path: Path, *, project: Path) -> Path:
    """Rewrite an autograder zip in place with `gradescope_entries` added (otter's two scripts
    and any older ctlab source replaced); atomic and reproducible."""
    zip_path = Path(zip_path)
    kept: dict[str, bytes] = {}
    if zip_path.exists():
        try:
            with zipfile.ZipFile(zip_path) as zf:
                kept = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
        except (OSError, zipfile.BadZipFile) as exc:
            raise CtlabError(f"{zip_path}: not a readable zip ({exc})") from None
    kept = {n: b for n, b in kept.items() if not n.startswith(SOURCE_DIR + "/")}
    atomic.write_bytes(zip_path, zip_bytes({**kept, **gradescope_entries(project=project)}))
    return zip_path


def unpack_autograder(zip_path: Path, home: Path) -> Path:
    """Lay out `home` like Gradescope's /autograder: source/ (the zip), run_autograder, submission/, results/."""
    home = Path(home)
    source = home / "source"
    source.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            dest = (source / info.filename).resolve()
            if not str(dest).startswith(str(source.resolve()) + os.sep):
                raise CtlabError(f"{zip_path}: entry {info.filename} escapes the folder")
            zf.extract(info, source)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(dest, mode)
    shutil.copy2(source / "run_autograder", home / "run_autograder")
    (home / "submission").mkdir(exist_ok=True)
    (home / "results").mkdir(exist_ok=True)
    return home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctlab.gradescope",
                                     description="Grade one submission the Gradescope way.")
    parser.add_argument("--autograder-dir", type=Path, required=True, help="the unpacked zip (/autograder/source)")
    parser.add_argument("--submission-dir", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        run = run_autograder(autograder_dir=args.autograder_dir, submission_dir=args.submission_dir,
                             results_dir=args.results_dir)
    except CtlabError as exc:
        # Gradescope shows results.json; say what went wrong there too
        payload = {"score": 0.0, "output": f"The autograder could not run: {exc}", "tests": [],
                   "stdout_visibility": "hidden"}
        atomic.write_text(Path(args.results_dir) / "results.json", json.dumps(payload, indent=2))
        print(f"ctlab: error: {exc}", file=sys.stderr)
        return 2
    print(run.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
