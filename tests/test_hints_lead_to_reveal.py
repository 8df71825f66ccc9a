"""The hints of part 6b lead to the reveal's answer: following hint 2 as written gives the reveal's
`iocs`, and the reading that hint 2 once suggested (every row made with the grant's key, from any
address) gives other indicators, so the hint must say "from the grant's address"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ctlab.reveal import HINTS, run_reveals

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "assignment" / "data"


def _part_6b() -> dict[str, str]:
    doc = yaml.safe_load((ROOT / HINTS).read_text(encoding="utf-8"))
    return next(s for s in doc["extra_sections"] if str(s["number"]) == "6b")


def _indicators(rows: pd.DataFrame, events: pd.DataFrame) -> dict[str, list[str]]:
    others = events.drop(rows.index)
    return {
        "principals": sorted(rows["user"].unique()),
        "source_ips": sorted(rows["source_ip"].unique()),
        "regions": sorted(set(rows["region"]) - set(others["region"])),
        "buckets": sorted(set(rows.loc[rows["event_name"] == "GetObject", "resource"].str.split("/").str[0])),
    }


def test_hint_2_of_part_6b_leads_to_the_reveals_answer():
    hint2 = " ".join(_part_6b()["hint2"].split())
    assert "from the grant's address" in hint2 and "from any address" in hint2
    answers = run_reveals(hints=ROOT / HINTS, data_dir=DATA, questions=["q1", "q2", "q3", "q11"])
    iocs = answers["iocs"]
    iam, api, susp_iam = answers["cloud_iam_df"], answers["cloud_api_df"], answers["susp_iam"]
    events = pd.concat([iam, api], ignore_index=True)
    grant = susp_iam[(susp_iam["event_name"] == "AttachRolePolicy")
                     & susp_iam["details"].str.contains("AdministratorAccess", na=False)].iloc[0]
    by_key = events["access_key_id"] == grant["access_key_id"]
    # the keys it created: those its own rows (the grant's key from the grant's address) returned; the
    # owner's own key history (its key created earlier in the week) is no creation of the intruder's
    own = events[by_key & (events["source_ip"] == grant["source_ip"])]
    created = set(own["details"].str.extract(r"ccessKeyId=(\w+)")[0].dropna()) - {grant["access_key_id"]}
    assert created and created < set(iocs["access_keys"])

    # as hint 2 says: the grant's key from the grant's address, and the keys it created from anywhere
    followed = events[(by_key & (events["source_ip"] == grant["source_ip"])) | events["access_key_id"].isin(created)]
    assert _indicators(followed, events) == {k: iocs[k] for k in ("principals", "source_ips", "regions", "buckets")}

    # the old wording: every row made with those keys, whoever's address: not the reveal's answer
    naive = events[by_key | events["access_key_id"].isin(created)]
    assert _indicators(naive, events) != {k: iocs[k] for k in ("principals", "source_ips", "regions", "buckets")}
