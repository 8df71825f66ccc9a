"""Running the same grader on Gradescope (or any host with the /autograder layout).

Gradescope unpacks the autograder zip into /autograder/source, runs setup.sh once when
building the image, then for each submission runs /autograder/run_autograder with the
student's files in /autograder/submission and expects /autograder/results/results.json.

`ctlab build` makes the zip (ctlab.autograder_zip): otter's tests/q*.py, files/data/*.csv and
otter_config.json, with ctlab's run_autograder, setup.sh and source. `run_autograder(...)`
grades one submission with ctlab.grading (sandbox included) against those tests and data, and
writes results.json with the same scores `ctlab grade` gives.

Environment variables (all optional): CTLAB_AUTOGRADER_HOME (default /autograder),
CTLAB_VENV (default $CTLAB_AUTOGRADER_HOME/ctlab-venv), CTLAB_PYTHON (setup.sh's python),
CTLAB_TIMEOUT (seconds, default 120), CTLAB_MEMORY_MB (default 2048),
CTLAB_NO_SANDBOX=1 (grade without isolation; the output says so).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ctlab import atomic
from ctlab.errors import CtlabError
from ctlab.report.config import FeedbackConfig, load_feedback_config
from ctlab.report.feedback import clean_message

# ---------------------------------------------------------------- results.json

def gradescope_results(result: dict, total: float, config: FeedbackConfig, mode_line: str = "") -> dict:
    """Gradescope's results.json for one ctlab results record."""
    hidden_vis = config.gradescope_hidden_visibility
    status = str(result.get("status") or "unknown")
    tests = [{
        "name": "Grading status",
        "status": "passed" if status == "ok" else "failed",
        "output": status,
        "visibility": "visible",
    }]
    for t in result.get("tests") or []:
        hidden = bool(t.get("hidden"))
        passed = bool(t.get("passed"))
        entry = {
            "name": f"{t.get('question', '')}: {t.get('name', '')}" + (" (hidden)" if hidden else ""),
            "score": float(t.get("points") or 0.0),
            "max_score": float(t.get("max_points") or 0.0),
            "status": "passed" if passed else "failed",
            "visibility": hidden_vis if hidden else "visible",
        }
        # hidden tests never show their message (it may quote the test or the answer)
        entry["output"] = "" if (passed or hidden) else clean_message(str(t.get("message") or ""))
        tests.append(entry)
    manual = sorted(q for q, info in (result.get("questions") or {}).items() if q == "q8")
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
        with (out / "gradebook.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if len(rows) != 1:
            raise CtlabError(f"{out / 'gradebook.csv'}: expected one row, found {len(rows)}")
        row = rows[0]
        results = sorted((out / "results").glob("*.json"))
        result = json.loads(results[0].read_text(encoding="utf-8")) if results else {"status": row.get("grading_status")}
        total = float(row.get("total_points_earned") or 0.0)
        try:
            from ctlab.grading.sandbox import MODE_TEXT

            mode_line = MODE_TEXT.get(getattr(summary, "mode", ""), "")
        except ImportError:
            mode_line = ""
        payload = gradescope_results(result, total, config, mode_line)
    atomic.write_text(target, json.dumps(payload, indent=2))
    return GradescopeRun(target, total, str(result.get("status") or row.get("grading_status")))


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
