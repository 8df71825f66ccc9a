"""How much the week looks like a real trail, in numbers, and whether one column gives the intruder away.

Real CloudTrail is bursty (tools make tens of calls a second), holds hundreds of event names, and is
mostly reads; and in a real incident no single column's values pick out exactly the intruder's rows
(the intruder's user agent is a common CLI, their addresses share ranges with others). These numbers
are printed by ``ctlab data build``, written in docs/data.md, and the giveaway measure is one of the
checks of ``ctlab data check``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ctlab.data.flatten import COLUMNS

# Columns whose values identify a row or a moment by nature (an event id, a second) say nothing about
# whether a trait gives the intruder away; every other column is measured, plus the /24 network of the
# source address.
UNMEASURED = ("event_id", "timestamp")
NETWORK = "source_ip/24"
# A column gives the intruder away when the intruder's own values of it select rows of which at least
# this share are the intruder's (they always select every intruder row).
GIVEAWAY = 0.8
BURST = 3  # calls by one principal in one second that make a burst


@dataclass(frozen=True)
class ColumnPrecision:
    column: str
    attack_rows: int
    selected: int  # rows whose value of the column is one of the intruder's values

    @property
    def precision(self) -> float:
        return self.attack_rows / self.selected if self.selected else 0.0


@dataclass
class Realism:
    rows: int
    busiest_second: int  # rows in the busiest second of the week
    burst_share: float  # share of rows in a burst (>= BURST calls by one principal in one second)
    event_names: int
    services: int
    read_only_share: float | None  # from the CloudTrail records (readOnly), when known
    columns: list[ColumnPrecision] = field(default_factory=list)

    @property
    def worst(self) -> ColumnPrecision | None:
        return max(self.columns, key=lambda c: c.precision, default=None)

    def giveaways(self) -> list[ColumnPrecision]:
        return [c for c in self.columns if c.precision >= GIVEAWAY]

    def describe(self) -> str:
        ro = f"{self.read_only_share:.1%}" if self.read_only_share is not None else "unknown"
        worst = self.worst
        top = (f"{worst.column} {worst.precision:.2f} ({worst.attack_rows} of {worst.selected} rows)"
               if worst else "no attack rows")
        return (f"realism: {self.rows} rows; busiest second {self.busiest_second} calls; "
                f"{self.burst_share:.1%} of rows in bursts (>= {BURST} calls by one principal in one second); "
                f"{self.event_names} event names from {self.services} services; read-only {ro}; "
                f"attacker-column precision at most {top}")

    def as_json(self) -> dict[str, object]:
        return {"rows": self.rows, "busiest_second": self.busiest_second, "burst_share": round(self.burst_share, 4),
                "event_names": self.event_names, "services": self.services,
                "read_only_share": None if self.read_only_share is None else round(self.read_only_share, 4),
                "attacker_column_precision": {c.column: round(c.precision, 4) for c in self.columns}}


def _network(ip: str) -> str:
    parts = ip.split(".")
    return ".".join(parts[:3]) if len(parts) == 4 and all(p.isdigit() for p in parts) else ip


def column_precision(rows: list[dict[str, str]], attack_ids: Iterable[str]) -> list[ColumnPrecision]:
    """For every measured column: how many rows the intruder's own values of it select."""
    ids = set(attack_ids)
    attack = [r for r in rows if r["event_id"] in ids]
    if not attack:
        return []
    out = []
    for col in [c for c in COLUMNS if c not in UNMEASURED] + [NETWORK]:
        def value(r: dict[str, str], col: str = col) -> str:
            return _network(r["source_ip"]) if col == NETWORK else r[col]
        theirs = {value(r) for r in attack}
        out.append(ColumnPrecision(col, len(attack), sum(1 for r in rows if value(r) in theirs)))
    return out


def measure(rows: list[dict[str, str]], attack_ids: Iterable[str], *, read_only_share: float | None = None) -> Realism:
    """The realism numbers of ``rows`` (both CSVs' rows); ``attack_ids`` are the intruder's event ids."""
    seconds = Counter(r["timestamp"] for r in rows if len(r["timestamp"]) == 20)
    per = Counter((r["user"], r["timestamp"]) for r in rows if len(r["timestamp"]) == 20)
    in_bursts = sum(n for n in per.values() if n >= BURST)
    return Realism(
        rows=len(rows),
        busiest_second=max(seconds.values(), default=0),
        burst_share=in_bursts / len(rows) if rows else 0.0,
        event_names=len({r["event_name"] for r in rows}),
        services=len({r["event_source"] for r in rows}),
        read_only_share=read_only_share,
        columns=column_precision(rows, attack_ids),
    )
