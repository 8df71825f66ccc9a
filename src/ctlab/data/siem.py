"""The "SIEM export" step: a seeded, documented blemish on the CSV timestamps.

Real exports rarely come back clean: a collector drops a field, a dashboard writes ``N/A`` or
``-`` for a missing value, a hand-edited date lands on a day that does not exist. The exercise
reproduces that, and only that, so students must parse with ``errors='coerce'`` and keep the
rows:

* only the ``timestamp`` column is touched; every other cell is left as flattened;
* fewer than 2 % of the rows of each file are spoiled (``RATE``, rounded down, at least one
  row of each kind, and always strictly under 2 %);
* the spoiled value is one of four kinds, used in turn: empty, ``N/A``, ``-``, and a date that
  looks valid but does not exist (February 29th, 30th or 31st of 2026, keeping the row's
  time of day, e.g. ``2026-02-30T10:00:00Z``);
* the first ``KEEP_FIRST`` rows keep their timestamps (pandas infers a format from the first
  value), and so do the rows of the attack (``protect``): the story's times stay readable;
* rows are chosen with ``random.Random(f"siem-export-{seed}-{file name}")``, so the step is
  repeatable.

Every valid timestamp keeps CloudTrail's ``YYYY-MM-DDTHH:MM:SSZ`` form, so
``pd.to_datetime(s.str.replace('Z', ''), utc=True, errors='coerce')`` and
``pd.to_datetime(s, utc=True, errors='coerce', format='ISO8601')`` agree on every row.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlab import atomic

RATE = 0.012
KEEP_FIRST = 5
KINDS = ("empty", "N/A", "-", "impossible")
_IMPOSSIBLE_DAYS = ("02-30", "02-31", "02-29")  # the last only in years that are not leap years


@dataclass
class SpoilReport:
    file: str
    rows: int
    spoiled: int
    by_kind: dict[str, int] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "spoiled": self.spoiled, "by_kind": dict(self.by_kind),
                "event_ids": list(self.event_ids)}


def spoil_count(rows: int, rate: float = RATE) -> int:
    """How many rows a file of ``rows`` rows gets: about ``rate``, always under 2 %."""
    n = max(len(KINDS), math.floor(rows * rate))
    ceiling = math.ceil(rows * 0.02) - 1  # strictly under 2 %
    return max(0, min(n, ceiling))


def spoil_timestamps(path: Path, *, seed: int, protect: frozenset[str] | set[str] = frozenset(),
                     rate: float = RATE) -> SpoilReport:
    """Rewrite ``path`` in place (atomically) with some timestamps spoiled; report which."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    ts = header.index("timestamp")
    eid = header.index("event_id")
    rng = random.Random(f"siem-export-{seed}-{path.name}")
    candidates = [i for i in range(KEEP_FIRST, len(rows)) if rows[i][eid] not in protect]
    n = min(spoil_count(len(rows), rate), len(candidates))
    chosen = sorted(rng.sample(candidates, n))
    kinds = [KINDS[i % len(KINDS)] for i in range(n)]
    rng.shuffle(kinds)
    report = SpoilReport(file=path.name, rows=len(rows), spoiled=n, by_kind={k: 0 for k in KINDS})
    for i, kind in zip(chosen, kinds, strict=True):
        old = rows[i][ts]
        if kind == "empty":
            new = ""
        elif kind == "impossible":
            # keep year and time of day, move to a day February never has in 2026
            year = int(old[:4])
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            new = f"{old[:4]}-{rng.choice(_IMPOSSIBLE_DAYS[:2] if leap else _IMPOSSIBLE_DAYS)}{old[10:]}"
        else:
            new = kind
        rows[i][ts] = new
        report.by_kind[kind] += 1
        report.event_ids.append(rows[i][eid])
    with atomic.replacing(path, mode=0o644) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return report
