"""The committed exercise data: the story, every look-alike, the SIEM blemishes, the answer key,
and that data/ is exactly what `ctlab data build` writes."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from ctlab.data.dataset import build_data
from ctlab.data.flatten import COLUMNS

DATA = Path(__file__).resolve().parents[1] / "data"
SUSP_IAM = ["CreateAccessKey", "AttachRolePolicy", "AssumeRole", "DeactivateMFADevice"]
IMPOSSIBLE = re.compile(r"^2026-02-(29|30|31)T\d\d:\d\d:\d\dZ$")
VALID = re.compile(r"^2026-(02|03)-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def iam() -> pd.DataFrame:
    return pd.read_csv(DATA / "cloud_iam.csv", keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def api() -> pd.DataFrame:
    return pd.read_csv(DATA / "cloud_api.csv", keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((DATA / "ground_truth.json").read_text())


@pytest.fixture(scope="module")
def both(iam, api) -> pd.DataFrame:
    return pd.concat([iam.assign(file="iam"), api.assign(file="api")], ignore_index=True)


def when(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")


# ---- shape -----------------------------------------------------------------------------

def test_columns_sizes_and_ids(iam, api, both, truth):
    assert list(iam.columns) == list(COLUMNS) == list(api.columns)
    assert (len(iam), len(api)) == (truth["rows"]["cloud_iam.csv"], truth["rows"]["cloud_api.csv"])
    assert 600 <= len(iam) <= 1200 and 12000 <= len(api) <= 20000
    assert both["event_id"].is_unique
    assert both["event_id"].str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}").all()
    assert (both["user"] != "").all() and (both["event_name"] != "").all()
    assert 30 <= both["user"].nunique() <= 120
    assert truth["principals"] == both["user"].nunique()
    assert re.fullmatch(r"\d{12}", truth["account_id"])


def test_split_rule(iam, api):
    ident = {"iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"}
    reads = ("List", "Get", "Describe")

    def is_iam(r):
        return r.event_source in ident and (r.event_name in ("GetSessionToken", "GetFederationToken")
                                            or not r.event_name.startswith(reads))
    assert all(is_iam(r) for r in iam.itertuples())
    assert not any(is_iam(r) for r in api.itertuples())
    assert {"ListUsers", "GetCallerIdentity", "GetAccountAuthorizationDetails"} <= set(api["event_name"])
    assert {"ConsoleLogin", "GetSessionToken", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"} <= set(iam["event_name"])


def test_sorted_by_time_then_id(iam, api):
    for df in (iam, api):
        ok = df[df["timestamp"].str.match(VALID.pattern) & ~df["timestamp"].str.match(IMPOSSIBLE.pattern)]
        keys = list(zip(ok["timestamp"], ok["event_id"], strict=True))
        assert keys == sorted(keys)


def test_week_and_daily_rhythm(both):
    t = when(both["timestamp"]).dropna()
    assert t.min() >= pd.Timestamp("2026-02-23", tz="UTC") and t.max() < pd.Timestamp("2026-03-02", tz="UTC")
    assert pd.Timestamp("2026-02-23").day_name() == "Monday"
    weekday = t[t.dt.day_of_week < 5]
    busy = weekday[(weekday.dt.hour >= 9) & (weekday.dt.hour < 17)]
    night = weekday[(weekday.dt.hour >= 0) & (weekday.dt.hour < 6)]
    assert len(busy) > 5 * len(night)


# ---- SIEM export step ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cloud_iam.csv", "cloud_api.csv"])
def test_timestamps_spoiled_as_documented(name, truth):
    raw = pd.read_csv(DATA / name, keep_default_na=False, dtype=str)["timestamp"]
    rep = truth["siem_export"]["files"][name]
    bad = raw[~raw.str.fullmatch(VALID.pattern) | raw.str.fullmatch(IMPOSSIBLE.pattern)]
    assert len(bad) == rep["spoiled"] == sum(rep["by_kind"].values())
    assert 0 < len(bad) < 0.02 * len(raw)
    assert rep["by_kind"] == {"empty": (bad == "").sum(), "N/A": (bad == "N/A").sum(), "-": (bad == "-").sum(),
                              "impossible": bad.str.fullmatch(IMPOSSIBLE.pattern).sum()}
    assert all(v >= 1 for v in rep["by_kind"].values())
    assert raw.iloc[:5].str.fullmatch(VALID.pattern).all()
    df = pd.read_csv(DATA / name)
    assert sorted(df.loc[bad.index, "event_id"]) == sorted(rep["event_ids"])


@pytest.mark.parametrize("name", ["cloud_iam.csv", "cloud_api.csv"])
def test_both_parses_agree(name, truth):
    s = pd.read_csv(DATA / name)["timestamp"]
    seed_way = pd.to_datetime(s.astype(str).str.replace("Z", "", regex=False), utc=True, errors="coerce")
    iso_way = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    assert seed_way.isna().equals(iso_way.isna())
    assert seed_way.isna().sum() == truth["siem_export"]["files"][name]["spoiled"]
    assert (seed_way.dropna().astype("int64") == iso_way.dropna().astype("int64")).all()
    assert (seed_way.dropna() == iso_way.dropna()).all()


# ---- the story ------------------------------------------------------------------------------

def test_answer_key_fields(truth):
    for k in ("attacker_user", "attacker_access_key", "attacker_ips", "attacker_region", "escalated_role",
              "role_session", "persistence_user", "created_access_key", "mfa_user", "sensitive_bucket",
              "privilege_change_time", "first_sensitive_getobject_time", "minutes_to_exfil", "techniques",
              "timeline"):
        assert truth[k] not in (None, "", []), k
    assert truth["role_session"] == f"{truth['escalated_role']}/{truth['story']['session_name']}"
    assert truth["attacker_access_key"].startswith("AKIA") and truth["created_access_key"].startswith("AKIA")
    assert truth["attacker_ips"][0].startswith("203.0.113.") and truth["attacker_ips"][1].startswith("198.51.100.")
    assert truth["attacker_ip"] == truth["attacker_ips"][0]
    assert truth["seed"] == 3032
    assert {t["id"].split(".")[0] for t in truth["techniques"]} >= {"T1078", "T1098", "T1530"}
    assert all(t["reason"] for t in truth["techniques"])
    assert truth["siem_export"]["attack_rows_spoiled"] == 0


def test_timeline_matches_rows(both, truth):
    rows = both.set_index("event_id")
    tl = truth["timeline"]
    assert 60 <= len(tl) <= 120
    for e in tl:
        r = rows.loc[e["event_id"]]
        assert (r["timestamp"], r["event_name"], r["user"], r["resource"]) == (
            e["time"], e["event_name"], e["user"], e["resource"])
        assert VALID.fullmatch(r["timestamp"]) and not IMPOSSIBLE.fullmatch(r["timestamp"])
    span = when(pd.Series([e["time"] for e in tl]))
    assert span.max() - span.min() < pd.Timedelta(hours=3)
    assert (span.dt.day_of_week == 5).all() and (span.dt.hour < 5).all()  # Saturday night
    assert {e["user"] for e in tl} == {truth["attacker_user"], truth["role_session"], truth["persistence_user"]}


def test_story_in_the_rows(iam, api, both, truth):
    me, key, ips = truth["attacker_user"], truth["attacker_access_key"], truth["attacker_ips"]
    tl_ids = {e["event_id"] for e in truth["timeline"]}
    attack = both[both["event_id"].isin(tl_ids)]
    benign = both[~both["event_id"].isin(tl_ids)]
    # the key is the user's usual key, used before from the office; the addresses and region are new
    mine = both[both["user"] == me]
    assert (mine["access_key_id"] == key).sum() > 50
    assert set(attack["source_ip"]) == set(ips)
    # the first address is a VPN exit a colleague works through that week; the user never used it
    assert set(benign.loc[benign["source_ip"] == ips[0], "user"]) == {truth["story"]["traveller"]}
    assert not benign.loc[benign["user"] == me, "source_ip"].isin(ips).any()
    assert set(attack.loc[attack["user"] == me, "source_ip"]) == {truth["attacker_ip"]}
    assert not benign["region"].eq(truth["attacker_region"]).any()
    assert (attack["region"] == truth["attacker_region"]).sum() >= 10
    assert (attack["error_code"] == "AccessDenied").sum() >= 3

    def one(df, **cells):
        m = df
        for k, v in cells.items():
            m = m[m[k] == v]
        assert len(m) == 1, cells
        return m.iloc[0]

    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    att = one(iam, user=me, event_name="AttachRolePolicy")
    assert att["resource"] == truth["escalated_role"] and att["details"] == f"policyArn={admin}"
    assert att["timestamp"] == truth["privilege_change_time"] and att["event_id"] == truth["privilege_change_event_id"]
    cak = one(iam, user=me, event_name="CreateAccessKey")
    assert cak["resource"] == truth["persistence_user"] != me
    assert cak["details"] == f"accessKey.accessKeyId={truth['created_access_key']}"
    mfa = one(iam, user=truth["role_session"], event_name="DeactivateMFADevice")  # by the escalated session
    assert mfa["resource"] == truth["mfa_user"]
    assert (iam[iam["user"] == truth["mfa_user"]]["event_source"] == "iam.amazonaws.com").any()  # an admin
    ar = one(iam, user=me, event_name="AssumeRole", resource=truth["escalated_role"])
    assert f"roleSessionName={truth['story']['session_name']}" in ar["details"]
    assert f"credentials.accessKeyId={truth['role_session_access_key']}" in ar["details"]
    assert ar["timestamp"] > att["timestamp"]
    sess = api[api["user"] == truth["role_session"]]
    assert (sess["access_key_id"] == truth["role_session_access_key"]).all()
    assert {"ListBuckets", "ListObjects", "GetObject"} <= set(sess["event_name"])
    gets = sess[sess["event_name"] == "GetObject"]
    assert gets["resource"].str.startswith(truth["sensitive_bucket"] + "/").all()
    assert gets["bytes_out"].astype(int).min() > 10_000_000
    assert gets["bytes_out"].astype(int).sum() == truth["bytes_exfiltrated"]
    first = gets.sort_values("timestamp").iloc[0]
    assert (first["timestamp"], first["event_id"]) == (truth["first_sensitive_getobject_time"],
                                                       truth["first_sensitive_getobject_event_id"])
    minutes = math.floor((when(pd.Series([first["timestamp"]])).iloc[0]
                          - when(pd.Series([att["timestamp"]])).iloc[0]).total_seconds() / 60)
    assert minutes == truth["minutes_to_exfil"] and 3 <= minutes <= 30
    enum = attack[attack["event_name"].str.match(r"^(List|Describe)")]
    assert enum["event_name"].nunique() >= 10


# ---- look-alikes ------------------------------------------------------------------------------

def test_lookalikes(iam, api, truth):
    bad_users = {truth["attacker_user"], truth["role_session"], truth["persistence_user"]}
    not_get = set(api.loc[api["event_name"].str.startswith("GetObject") & (api["event_name"] != "GetObject"),
                          "event_name"])
    assert {"GetObjectAcl", "GetObjectTagging", "GetObjectAttributes"} <= not_get
    assert {"AttachUserPolicy", "CreateUser", "PutUserPolicy", "CreateLoginProfile"} <= set(iam["event_name"])
    assert {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"} <= set(iam["event_name"])
    ok = iam[~iam["user"].isin(bad_users)]
    for name, users, rows in (("CreateAccessKey", 3, 3), ("AttachRolePolicy", 2, 3),
                              ("DeactivateMFADevice", 2, 2), ("AssumeRole", 10, 150)):
        sub = ok[ok["event_name"] == name]
        assert sub["user"].nunique() >= users and len(sub) >= rows, name
    susp_iam = iam[iam["event_name"].isin(SUSP_IAM)]
    assert susp_iam["user"].nunique() >= 15
    assert (susp_iam["user"] != "").all() and (susp_iam["event_name"] != "").all()
    susp_api = api[api["event_name"].str.startswith("List") | api["event_name"].str.startswith("Describe")
                   | (api["event_name"] == "GetObject")]
    assert (susp_api["user"] != "").all()
    assert susp_api.loc[~susp_api["user"].isin(bad_users), "user"].nunique() >= 20
    gets = api[(api["event_name"] == "GetObject") & ~api["user"].isin(bad_users)]
    assert gets["user"].nunique() >= 10
    assert gets["resource"].str.startswith(truth["sensitive_bucket"] + "/").sum() >= 7  # the nightly pipeline
    # the escalated role is used by others all week under other session names
    pipe = api[api["user"].str.startswith(truth["escalated_role"] + "/") & (api["user"] != truth["role_session"])]
    assert pipe["user"].nunique() >= 3


# ---- reproducibility ---------------------------------------------------------------------------

def test_data_dir_equals_build(tmp_path):
    s = build_data(out=tmp_path)
    for name in ("cloud_iam.csv", "cloud_api.csv", "ground_truth.json"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), f"data/{name} is stale: run make data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloud_api.csv", "cloud_iam.csv", "ground_truth.json"]
    assert s.describe().startswith(f"wrote {tmp_path / 'cloud_iam.csv'} ({s.iam_rows} rows, ")


# ---- realism: what real trails carry, so that no single trait gives the intruder away ----------

RFC5737 = r"^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$"


def test_background_errors_do_not_single_out_the_intruder(both, truth):
    bad_users = {truth["attacker_user"], truth["role_session"], truth["persistence_user"]}
    tl_ids = {e["event_id"] for e in truth["timeline"]}
    err = both[both["error_code"] != ""]
    assert 0.01 * len(both) < len(err) < 0.06 * len(both)
    assert err["error_code"].nunique() >= 12
    assert {"AccessDenied", "NoSuchKey", "ThrottlingException", "Client.UnauthorizedOperation",
            "NoSuchLifecycleConfiguration", "Client.DryRunOperation"} <= set(err["error_code"])
    benign = err[~err["event_id"].isin(tl_ids)]
    assert benign["user"].nunique() >= 15
    assert len(benign.loc[benign["error_code"] == "AccessDenied", "user"].unique()) >= 5
    assert err["event_id"].isin(tl_ids).sum() < 0.1 * len(err)
    assert set(err.loc[err["event_id"].isin(tl_ids), "user"]) <= bad_users


def test_sources_user_agents_and_sizes_as_aws_writes_them(both):
    ips = both["source_ip"]
    assert (ips.str.match(RFC5737) | ips.str.endswith(".amazonaws.com") | (ips == "AWS Internal")).all()
    assert (ips == "AWS Internal").sum() >= 10
    slr = both[both["user"].str.startswith("AWSServiceRole")]
    assert {u.split("/")[0] for u in slr["user"]} >= {"AWSServiceRoleForConfig", "AWSServiceRoleForAutoScaling",
                                                      "AWSServiceRoleForAmazonEKS"}
    assert (slr["user_type"] == "AssumedRole").all() and slr["source_ip"].str.endswith(".amazonaws.com").all()
    assert (slr["user_agent"] == slr["source_ip"]).all()
    s3 = both[both["event_source"] == "s3.amazonaws.com"]
    people = s3[~s3["user_agent"].str.endswith(".amazonaws.com") & (s3["user_agent"] != "AWS Internal")]
    assert len(people) > 1000 and people["user_agent"].str.match(r"^\[.*\]$").all()
    small = s3[~s3["event_name"].isin(["GetObject", "PutObject", "HeadObject"]) & (s3["bytes_out"] != "")]
    assert small["bytes_out"].nunique() > 50
    assert not (small["bytes_out"] == "300").mean() > 0.05


def test_sign_ins_and_callers_of_every_kind(iam, both):
    logins = iam[iam["event_name"] == "ConsoleLogin"]
    assert (iam["event_name"] == "CheckMfa").sum() >= 10
    failed = logins[logins["details"].str.contains("ConsoleLogin=Failure")]
    assert len(failed) >= 3
    assert (failed["details"].str.endswith("userNameHidden=true") == (failed["user"] == "HIDDEN_DUE_TO_SECURITY_REASONS")).all()
    sso = logins[logins["user"].str.startswith("AWSReservedSSO_")]
    assert len(sso) >= 5 and (sso["user_type"] == "AssumedRole").all()
    assert {"AWSAccount", "FederatedUser", "IdentityCenterUser", "SAMLUser", "WebIdentityUser", "Root",
            "AWSService"} <= set(both["user_type"])
    idc = both[both["user_type"] == "IdentityCenterUser"]
    assert idc["user"].str.endswith("@halyard-analytics.com").all()


# ---- no single-column giveaway, bursts, noise ------------------------------------------------------

def test_no_column_selects_the_intruder(both, truth):
    from ctlab.data.realism import GIVEAWAY, column_precision

    ids = {e["event_id"] for e in truth["timeline"]}
    rows = both.drop(columns="file").to_dict("records")
    prec = {c.column: c.precision for c in column_precision(rows, ids)}
    assert set(prec) == set(COLUMNS) - {"event_id", "timestamp"} | {"source_ip/24"}
    assert max(prec.values()) < GIVEAWAY
    assert prec == truth["realism"]["attacker_column_precision"] | {k: pytest.approx(v, abs=1e-4) for k, v in prec.items()}
    attack = both[both["event_id"].isin(ids)]
    benign = both[~both["event_id"].isin(ids)]
    # every user agent of the intruder's (without S3's brackets and the CLI's command) is someone else's too
    def tool(ua: pd.Series) -> pd.Series:
        return ua.str.strip("[]").str.split(" command/").str[0]
    assert set(tool(attack["user_agent"])) <= set(tool(benign["user_agent"]))
    # the unusual region is the intruder's alone, but most of their rows are elsewhere
    assert set(both.loc[both["region"] == truth["attacker_region"], "event_id"]) <= ids
    assert (attack["region"] == truth["attacker_region"]).mean() < 0.5


def test_bursts_and_noise(both, truth, iam, api):
    real = truth["realism"]
    assert real["busiest_second"] >= 20 and 0.1 <= real["burst_share"] <= 0.6
    assert real["event_names"] == both["event_name"].nunique() >= 150
    assert 0.70 <= real["read_only_share"] <= 0.80
    ids = {e["event_id"] for e in truth["timeline"]}
    attack = both[both["event_id"].isin(ids)]
    per_second = attack.groupby(["user", "timestamp"]).size()
    assert per_second.max() >= 5  # the intruder's enumeration script
    # throttled automation: many refusals in one second
    throttled = both[both["error_code"].str.contains("Throttl|RequestLimitExceeded")]
    assert throttled.groupby(["user", "timestamp"]).size().max() >= 5
    # services' own events, without an identity type
    svc = both[both["event_name"].isin(["RotateKey", "RotationStarted", "RotationSucceeded"])]
    assert len(svc) >= 3 and (svc["user"] == svc["event_source"]).all() and (svc["principal_arn"] == "").all()
