"""Writing the records as CloudTrail delivers them to S3."""

from __future__ import annotations

import gzip
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ctlab.data.generate.cast import ACCOUNT

MAX_RECORDS_PER_FILE = 1000  # CloudTrail delivers small files (every few minutes); so do we at any scale


def _write_hour(out: Path, hour: datetime, records: list[dict[str, Any]], rng: random.Random) -> list[Path]:
    by_region: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_region.setdefault(r["awsRegion"], []).append(r)
    paths = []
    for region in sorted(by_region):
        recs_all = sorted(by_region[region], key=lambda r: (r["eventTime"], r["eventID"]))
        folder = out / "AWSLogs" / ACCOUNT / "CloudTrail" / region / hour.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        for first in range(0, len(recs_all), MAX_RECORDS_PER_FILE):
            recs = recs_all[first:first + MAX_RECORDS_PER_FILE]
            stamp = (hour + timedelta(minutes=60 + rng.randrange(1, 9))).strftime("%Y%m%dT%H%MZ")
            suffix = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                             for _ in range(16))
            path = folder / f"{ACCOUNT}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"
            payload = json.dumps({"Records": recs}, separators=(",", ":")).encode()
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "wb") as fh:
                with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=6) as gz:
                    gz.write(payload)
            tmp.replace(path)
            paths.append(path)
    return paths

