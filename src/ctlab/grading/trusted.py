"""Phase 2 worker: `python -m ctlab.grading.trusted ROOT PRISTINE`.

A fresh interpreter that never runs submission code: it reads one snapshot path per line
on stdin (an empty line for "no snapshot"), runs every otter test file against it and
writes one JSON line with the points and test records. The grading process starts one
per worker so the tests of several submissions run on several cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


class TrustedGrader:
    """Client side: one subprocess, one request at a time."""

    def __init__(self, root: Path, pristine: Path):
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ctlab.grading.trusted", str(root), str(pristine)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(pristine), env=env, text=True,
        )

    def grade(self, snapshot_dir: str | None) -> tuple[dict, list[dict]]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write((snapshot_dir or "") + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the test process stopped")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["points"], reply["tests"]

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    from ctlab.grading import check

    root, pristine = sys.argv[1], sys.argv[2]
    check.pool_init(root, pristine)
    out = sys.stdout
    sys.stdout = sys.stderr  # anything the tests print stays off the protocol
    for line in sys.stdin:
        path = line.rstrip("\n")
        try:
            points, tests = check.pool_grade(path or None)
            reply = {"points": points, "tests": tests}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply, default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
