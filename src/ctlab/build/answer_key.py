"""The answer key's values that hidden tests compare with, taken from data/ at build time.

`ctlab build` puts them into the `answer_key()` check function of solutions/checks.py, so the tests of
a regenerated data set need no edit: nothing data-derived is written into the master notebook.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ctlab.errors import CtlabError

TRUTH_FILE = "ground_truth.json"
TRANSFER_DIR = "transfer"  # part 8b's recorded incident: data/transfer/, its own answer key beside it


def _minutes(start: str, end: str) -> float:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return round((datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).total_seconds() / 60, 6)


def _attack_buckets(data: Path, event_ids: set[str]) -> list[str]:
    """Buckets of the S3 calls of the attack's own rows: the ones the intruder reached."""
    with (data / "cloud_api.csv").open(newline="", encoding="utf-8") as fh:
        return sorted({r["resource"].split("/")[0] for r in csv.DictReader(fh)
                       if r["event_id"] in event_ids and r["event_source"].startswith("s3") and r["resource"]})


def hidden_key(*, data: Path) -> dict[str, Any]:
    """The week's key (`week_key`) and part 8b's, under "transfer": what the hidden tests compare with."""
    return {**week_key(data=data), "transfer": transfer_key(data=data)}


def week_key(*, data: Path) -> dict[str, Any]:
    """{compromised_user, attacker_ips, minutes_to_exfil, iocs: {kind: {required, accepted}}} of one week.

    minutes_to_exfil is the exact time from the privilege change to the first sensitive download (the
    key file's own `minutes_to_exfil` is rounded down to whole minutes). For the IOCs, `required` are
    the values a complete answer names; `accepted` are further values that are not wrong (the other
    buckets the intruder listed).
    """
    path = Path(data) / TRUTH_FILE
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
        events = {e["event_id"] for e in truth["timeline"]}
        bucket = truth["sensitive_bucket"]
        iocs = {
            "principals": (sorted(truth["attacker_principals"]), []),
            "access_keys": (sorted({truth["attacker_access_key"], truth["role_session_access_key"],
                                    truth["created_access_key"]}), []),
            "source_ips": (sorted(truth["attacker_ips"]), []),
            "regions": ([truth["attacker_region"]], []),
            "buckets": ([bucket], [b for b in _attack_buckets(Path(data), events) if b != bucket]),
        }
        return {
            "compromised_user": truth["attacker_user"],
            "attacker_ips": sorted(truth["attacker_ips"]),
            "minutes_to_exfil": _minutes(truth["privilege_change_time"], truth["first_sensitive_getobject_time"]),
            "iocs": {k: {"required": req, "accepted": acc} for k, (req, acc) in iocs.items()},
        }
    except FileNotFoundError:
        raise CtlabError(f"{path}: missing (the answer key the hidden tests compare with)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CtlabError(f"{path}: not a usable answer key ({type(exc).__name__}: {exc})") from None


def transfer_key(*, data: Path) -> dict[str, Any]:
    """Part 8b's answers, {principal, access_key, objects}, from data/transfer/ground_truth.json
    (written from the record set's documented story; a test checks it against the records)."""
    path = Path(data) / TRANSFER_DIR / TRUTH_FILE
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
        key = {"principal": str(truth["principal"]), "access_key": str(truth["access_key"]),
               "objects": sorted(str(o) for o in truth["objects"])}
    except FileNotFoundError:
        raise CtlabError(f"{path}: missing (the answer key of part 8b)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CtlabError(f"{path}: not a usable answer key ({type(exc).__name__}: {exc})") from None
    if not key["principal"] or not key["access_key"] or not key["objects"]:
        raise CtlabError(f"{path}: not a usable answer key (an empty answer)")
    return key
