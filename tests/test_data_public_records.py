"""Public CloudTrail records nobody here wrote (AWS documentation, Elastic's integration pipeline tests,
Panther's rule tests, attack recordings), each flattened to the row the contract (docs/data.md, "Columns")
gives for it. tests/fixtures/cloudtrail/public/records.jsonl holds one entry a line: where the record
comes from, the expected cells (written from the contract before the flattener was run on it) and the
record itself."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from ctlab.data.flatten import COLUMNS, flatten, flatten_record

CORPUS = Path(__file__).parent / "fixtures" / "cloudtrail" / "public" / "records.jsonl"
ENTRIES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
EXPECTED_KEYS = ["file", "timestamp", "user", "user_type", "resource", "access_key_id", "error_code", "details",
                 "bytes_out"]


def expected_row(entry: dict) -> dict[str, str]:
    """The whole row: the expected cells, and the columns the contract copies from the record as they are."""
    rec, exp = entry["record"], entry["expect"]
    ui = rec.get("userIdentity") or {}
    row = {k: exp[k] for k in EXPECTED_KEYS if k != "file"}
    row.update(event_id=str(rec.get("eventID") or ""), principal_arn=ui.get("arn") or "",
               event_source=rec.get("eventSource") or "", event_name=rec["eventName"], region=rec.get("awsRegion") or "",
               source_ip=rec.get("sourceIPAddress") or "", user_agent=rec.get("userAgent") or "")
    return row


def test_corpus_size_and_sources():
    assert len(ENTRIES) >= 100
    for e in ENTRIES:
        assert list(e["expect"]) == EXPECTED_KEYS, e["source"]
        assert e["source"].split()[0] in {"elastic/integrations", "panther-labs/panther-analysis",
                                          "docs.aws.amazon.com", "DataDog/stratus-red-team", "OTRF/Security-Datasets",
                                          "written"}, e["source"]
        if e["source"].startswith("written"):  # written here from a documented shape: says so, and from where
            assert e["source"].startswith("written from docs.aws.amazon.com ") and e["note"], e["source"]
    kinds = Counter((e["record"].get("userIdentity") or {}).get("type") for e in ENTRIES)
    assert {"IAMUser", "AssumedRole", "Root", "AWSService", "AWSAccount", "SAMLUser", "WebIdentityUser",
            "FederatedUser", "IdentityCenterUser"} <= set(kinds), kinds


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{i:03d}" for i in range(len(ENTRIES))])
def test_record_row(entry):
    is_iam, row = flatten_record(entry["record"])
    assert ("iam" if is_iam else "api") == entry["expect"]["file"]
    assert dict(zip(COLUMNS, row, strict=True)) == expected_row(entry)


def test_whole_corpus_through_flatten(tmp_path):
    """All records in one JSON-lines file starting with a byte-order mark, as Windows tools write it."""
    src = tmp_path / "export.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(e["record"]) + "\n" for e in ENTRIES).encode())
    s = flatten(inputs=[src], out=tmp_path / "out", skip_bad=False)
    assert (s.records, s.skipped_records) == (len(ENTRIES), 0)
    for name, which in (("cloud_iam.csv", "iam"), ("cloud_api.csv", "api")):
        with open(tmp_path / "out" / name, newline="", encoding="utf-8") as fh:
            got = Counter(tuple(r.values()) for r in csv.DictReader(fh))
        want = Counter(tuple(expected_row(e)[c] for c in COLUMNS) for e in ENTRIES if e["expect"]["file"] == which)
        assert got == want, name
