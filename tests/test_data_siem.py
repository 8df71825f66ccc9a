"""The SIEM export step on its own: counts, kinds, determinism, only the timestamp column."""

from __future__ import annotations

import csv
import re

from ctlab.data.flatten import COLUMNS
from ctlab.data.siem import KEEP_FIRST, spoil_count, spoil_timestamps


def test_spoil_count_stays_under_two_percent():
    assert [spoil_count(n) for n in (0, 50, 51, 100, 465, 1000, 6132)] == [0, 0, 1, 1, 5, 12, 73]
    for n in range(0, 20000, 37):
        assert spoil_count(n) < 0.02 * n or spoil_count(n) == 0


def write(path, n):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for i in range(n):
            w.writerow([f"id{i:04d}", f"2026-02-2{3 + i % 5}T{i % 24:02d}:{i % 60:02d}:07Z", f"u{i % 7}"]
                       + [f"c{i}"] * (len(COLUMNS) - 3))


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_spoil_is_seeded_and_touches_only_timestamps(tmp_path):
    a, b, c = tmp_path / "a" / "x.csv", tmp_path / "b" / "x.csv", tmp_path / "c" / "x.csv"
    for p in (a, b, c):
        p.parent.mkdir()
        write(p, 1000)
    before = rows(a)
    protect = {f"id{i:04d}" for i in range(0, 1000, 2)}
    ra = spoil_timestamps(a, seed=7, protect=protect)
    rb = spoil_timestamps(b, seed=7, protect=protect)
    rc = spoil_timestamps(c, seed=8, protect=protect)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert ra.as_json() == rb.as_json() != rc.as_json()
    after = rows(a)
    assert ra.spoiled == 12 and ra.by_kind == {"empty": 3, "N/A": 3, "-": 3, "impossible": 3}
    changed = [i for i in range(1, 1001) if after[i] != before[i]]
    assert len(changed) == 12
    for i in changed:
        assert after[i][:1] + after[i][2:] == before[i][:1] + before[i][2:]
        ts = after[i][1]
        assert ts in ("", "N/A", "-") or re.fullmatch(r"2026-02-3[01]T\d\d:\d\d:07Z|2026-02-29T\d\d:\d\d:07Z", ts)
        assert after[i][0] not in protect and i > KEEP_FIRST
    assert sorted(after[i][0] for i in changed) == sorted(ra.event_ids)
    assert sorted(p.name for p in a.parent.iterdir()) == ["x.csv"]
