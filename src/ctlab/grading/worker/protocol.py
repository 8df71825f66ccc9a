"""The worker's side of its pipe to the trusted grader (ctlab.grading.sandbox): one JSON object
per line each way, a job in and its reply out, and the job process's reply taken as data."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, TextIO

REPLY_CAP = 4096  # bytes of one job process's reply
REPLY_FIELDS: tuple[tuple[str, type], ...] = (
    ("timed_out", bool), ("output_limit", bool), ("restart", bool), ("wall", float),
    ("exit_code", int), ("signal", int), ("snapshot", int), ("prepare_error", str))


class Channel:
    """The grader's pipe, moved off fds 0 and 1 so nothing else this process (or a child) writes
    to stdout can be taken for a reply: stdin becomes /dev/null and stdout goes to stderr (the log)."""

    def __init__(self) -> None:
        self._in: TextIO = os.fdopen(os.dup(0), "r")
        self._out: TextIO = os.fdopen(os.dup(1), "w")
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(2, 1)

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(json.dumps(message) + "\n")
        self._out.flush()

    def jobs(self) -> Iterator[dict[str, Any]]:
        """Each job the grader sends, until it asks to quit or closes the pipe."""
        for line in self._in:
            line = line.strip()
            if not line:
                continue
            job: dict[str, Any] = json.loads(line)
            if job.get("quit"):
                return
            yield job


def ready_message(took: dict[str, float] | None = None) -> dict[str, Any]:
    """`took`: seconds the zygote's set-up steps took, by name (for `ctlab grade --timings`)."""
    return {"ready": True, "pid": os.getpid(), "took": took or {}}


def failure_reply(job: dict[str, Any], exc: Exception) -> dict[str, Any]:
    """The reply when the zygote itself failed on a job."""
    return {"id": job.get("id"), "zygote_error": f"{type(exc).__name__}: {exc}"}


def typed_reply(raw: bytes, job_id: object) -> dict[str, Any] | None:
    """The job process's reply, taken as data: known keys with the expected types only."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("id") != job_id:
        return None
    reply: dict[str, Any] = {"id": job_id}
    for key, kind in REPLY_FIELDS:
        v = data.get(key)
        if isinstance(v, bool) and kind is not bool:
            continue
        if kind is float and isinstance(v, int):
            v = float(v)
        if isinstance(v, kind):
            reply[key] = v[:300] if isinstance(v, str) else v
    return reply
