"""Synthetic CloudTrail for one small company's AWS account, with one planted compromise.

The account belongs to "Halyard Analytics", a small data company working from eu-west-1.
Its week of CloudTrail is produced hour by hour from behaviours, one module per concern:

- ``story.py``: the compromise. The story seed draws its parameters (whose key, which addresses,
  region, role, session, persistence user, MFA victim, objects, night) and plants it;
- ``actors.py``: the benign actors (engineers at their terminals and consoles, administrators,
  GitHub Actions deployments, Lambda functions, a nightly data pipeline, analysts signing in
  through SSO, a backup job) and the week's scripted identity changes;
- ``bursts.py``: what tools do in one second (console pages, recursive copies, scripts,
  ``terraform plan``, a credential review);
- ``noise.py``: AWS services at work (service-linked roles, EKS nodes, a security vendor's scan,
  service events without an identity) and throttled automation; ``failures.py``: everyday errors;
- ``world.py``: identities, the state that must stay consistent, and the record makers;
- ``writer.py``: one gzip file of ``{"Records": [...]}`` per region and hour under
  ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``, as CloudTrail delivers them to S3.

The week reads like a real trail (see docs/data.md): everyday calls fail now and then with many
error codes, tools make tens of calls a second, S3 user agents are bracketed, sign-ins include
CheckMfa, failures, SSO and Identity Center, no single value of the intruder's (user agent,
address) is theirs alone, and the state an analyst can follow stays consistent
(``ctlab.data.invariants`` checks it): MFA devices, buckets' regions, objects' sizes, keys' owners
and sessions' origins.

Everything is drawn from ``random.Random`` objects seeded from the seed, so the same seed and
options give byte-identical files (gzip headers carry no name and mtime 0).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ctlab.data.generate.actors import _admin_script, _analysts, _backup, _ci, _engineers, _lambdas, _pipeline
from ctlab.data.generate.bursts import credential_report, terraform
from ctlab.data.generate.cast import ACCOUNT, BUCKETS, DEFAULT_START, GLOBAL, HOME, buckets_with
from ctlab.data.generate.noise import _platform, _service_events, _services
from ctlab.data.generate.story import ESCALATION_POLICY, Story, draw_story, plant
from ctlab.data.generate.world import _Ids, _iso, _World
from ctlab.data.generate.writer import _write_hour
from ctlab.errors import CtlabError

__all__ = ["ACCOUNT", "BUCKETS", "ESCALATION_POLICY", "GLOBAL", "HOME", "GenerateSummary", "Story", "draw_story",
           "generate"]

# The behaviours that run every hour, in this order (the order fixes the random draws).
BEHAVIOURS = (_engineers, _ci, _lambdas, _pipeline, _analysts, _backup, _services, terraform, credential_report,
              _platform, _service_events)


@dataclass
class GenerateSummary:
    out: Path
    files: int
    events: int
    start: str
    end: str
    regions: tuple[str, ...]
    story: dict[str, Any] = field(default_factory=dict, repr=False)
    read_only: int = 0  # records with readOnly true

    def describe(self) -> str:
        return (f"wrote {self.events} CloudTrail records in {self.files} files under {self.out} "
                f"({self.start} .. {self.end}, regions: {', '.join(self.regions)})")



def generate(*, seed: int, days: int, out: Path, start: str | None = None, scale: float = 1.0) -> GenerateSummary:
    """Write ``days`` days of CloudTrail for the Halyard account under ``out``/AWSLogs/.

    ``scale`` multiplies the benign activity (1.0 is the exercise; the benchmark uses more).
    """
    if days < 1 or days > 3660:
        raise CtlabError(f"--days must be between 1 and 3660, got {days}")
    try:
        start_day = datetime.strptime(start or DEFAULT_START, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CtlabError(f"--start must be a date like 2026-02-23, got {start!r}") from None
    out = Path(out)
    existing = out / "AWSLogs"
    if existing.exists() and any(existing.rglob("*.json.gz")):
        raise CtlabError(f"{existing} already holds CloudTrail files; choose an empty folder")
    w = _World(seed, scale)
    w.start = start_day
    w.days = days
    w.story = draw_story(seed, days=days)
    w.set_buckets(buckets_with(w.story.bucket))
    _admin_script(w)
    # the attack's identifiers come from a stream of their own, so the benign week is the same whatever
    # the story does
    everyday, w.ids = w.ids, _Ids(random.Random(f"ctlab-story-ids-{seed}"))
    story = plant(w, w.story) | {"params": dataclasses.asdict(w.story)}
    w.ids = everyday
    file_rng = random.Random(f"ctlab-files-{seed}")
    n_files = n_events = n_read = 0
    regions: set[str] = set()
    for h in range(days * 24):
        hour = start_day + timedelta(hours=h)
        for behaviour in BEHAVIOURS:
            behaviour(w, hour)
        # sequences that spill past the hour were filed under the next hour already
        records = w.records_by_hour.pop(hour, [])
        if not records:
            continue
        paths = _write_hour(out, hour, records, file_rng)
        n_files += len(paths)
        n_events += len(records)
        n_read += sum(1 for r in records if r["readOnly"])
        regions.update(r["awsRegion"] for r in records)
    # anything scheduled after the last hour is dropped (a sequence running past the end)
    end = start_day + timedelta(days=days) - timedelta(seconds=1)
    return GenerateSummary(out=out, files=n_files, events=n_events, start=_iso(start_day), end=_iso(end),
                           regions=tuple(sorted(regions)), story=story,
                           read_only=n_read)
