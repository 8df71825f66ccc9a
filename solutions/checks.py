"""Check functions shared by the otter tests of solutions/scenario03b.ipynb: the one copy of each.

The master notebook's test cells call these functions by name and do not define them. Otter assign
wants every exception-format test cell to be a single function, and the generated test files must run
on their own (in students' kernels, on Gradescope and in `ctlab grade`'s separate process), so
`ctlab build` copies into each test function, before it runs otter assign, exactly the functions of
this module that the test calls, directly or through another function here. Docstrings stay here; the
copies carry only the code.

Rules for this module (the build checks them): only imports and top-level functions; a function may use
the module's imports, the builtins and the other functions here, nothing else. Use pandas, numpy and
the standard library only: the copies run wherever the tests run. Tests read the pristine logs at the
relative path `data/`, and compare rows by `event_id`, never by printed output.
"""

import pandas as pd


def given(x, var):
    """Fail with "not defined" when `x` is missing (otter passes None for a name the notebook lacks) or still `...`."""
    assert x is not None, f"{var} is not defined (or is None): run the cell that sets it"
    assert x is not Ellipsis, f"{var} is still ...: replace the ... with your answer"
    return x


def ids_of(df, var):
    """The event_ids of the rows of DataFrame `df` (from a column or an index level), as strings.

    `var` is the student's variable name, used in the failure messages, which say what `df` is when it
    is not a frame of rows: a Series (one column, or a mask), a merge's `event_id_x`.
    """
    given(df, var)
    if isinstance(df, pd.Series):
        if pd.api.types.is_bool_dtype(df.dtype):
            raise AssertionError(f"{var} is a boolean Series (a mask), not a DataFrame: select the rows with it, frame[mask]")
        raise AssertionError(f"{var} is a pandas Series (the column {df.name!r}), not a DataFrame: "
                             "keep whole rows, not one column")
    assert isinstance(df, pd.DataFrame), f"{var} should be a pandas DataFrame, not {type(df).__name__}"
    if "event_id" in df.columns:
        col = df["event_id"]
    elif "event_id" in df.index.names:
        col = df.index.get_level_values("event_id")
    else:
        merged = sorted(str(c) for c in df.columns if str(c).startswith("event_id_"))
        assert not merged, (f"{var} has the columns {merged} but no event_id: it looks like the result of a merge; "
                            "select rows of one frame instead (for example with .isin)")
        raise AssertionError(f"{var} has no event_id column")
    # tolist() boxes the values in one pass; iterating pandas' Arrow-backed str dtype boxes them one call
    # at a time, about six times slower, and every test of every snapshot reads these ids.
    return [str(v) for v in col.tolist()]


def whole_log(df, var, name):
    """The pristine rows of `data/<name>.csv` that `df` holds, after checking it holds every row with a
    parseable timestamp (a part-1 load of only some rows, such as .head(), fails here: the later parts
    are judged against the whole log). Fails like rows_of on foreign or repeated rows. Only the rows
    `df` lacks are parsed, so a complete frame costs no parsing."""
    rows = rows_of(df, var, name)
    ref = log(name)
    absent = ref[~ref["event_id"].isin(set(rows["event_id"]))]
    lost = int(pd.to_datetime(absent["timestamp"], utc=True, errors="coerce", format="ISO8601").notna().sum())
    assert lost == 0, (f"{var} holds {len(rows)} of the {len(ref)} rows of data/{name}.csv: load the whole file "
                       "in part 1 (no .head(), nrows or filter); the answers are graded against all of it")
    return rows


def log(name):
    """The pristine log `data/<name>.csv` ("cloud_iam" or "cloud_api"), every value a string, blanks kept as "".

    Object columns, not pandas' str dtype: `isin` with thousands of event ids is a hash lookup
    there, and a Python loop per value on the Arrow-backed str dtype.
    """
    return pd.read_csv(f"data/{name}.csv", dtype=object, keep_default_na=False)


def utc_times(df, var):
    """The `timestamp` column of `df`, after checking it holds timezone-aware UTC datetimes."""
    given(df, var)
    assert isinstance(df, pd.DataFrame) and "timestamp" in df.columns, f"{var} should be a DataFrame with a timestamp column"
    ts = df["timestamp"]
    assert pd.api.types.is_datetime64_any_dtype(ts), (f"{var}['timestamp'] is not parsed to datetimes yet "
                                                      f"(its dtype is {ts.dtype})")
    assert ts.dt.tz is not None, f"{var}['timestamp'] has no time zone: CloudTrail times are UTC, so parse with utc=True"
    for day in ("2026-01-15", "2026-07-15"):
        assert pd.Timestamp(day, tz=ts.dt.tz).utcoffset() == pd.Timedelta(0), f"{var}['timestamp'] is in {ts.dt.tz}, not UTC"
    return ts


def strings(x, var):
    """The values of collection `x` (list, tuple, set, array or Series) without missing values.

    Fails unless `x` is such a collection (a lone string, a dict or a DataFrame is not) and every value
    is a string.
    """
    given(x, var)
    if isinstance(x, pd.DataFrame):
        raise AssertionError(f"{var} is a DataFrame: put the values in a list, for example frame['user'].unique().tolist()")
    if isinstance(x, (str, bytes, dict)) or not hasattr(x, "__iter__"):
        raise AssertionError(f"{var} should be a list (or tuple, set, array, Series), not {type(x).__name__}")
    vals = [v for v in list(x) if not (v is None or (isinstance(v, float) and v != v))]
    bad = [v for v in vals if not isinstance(v, str)]
    assert not bad, f"{var} should hold strings, but holds {type(bad[0]).__name__} values"
    return vals


def rows_of(df, var, name):
    """The pristine rows of `data/<name>.csv` that `df` holds, matched by event_id.

    Fails when `df` is empty, holds a row twice, or holds rows that are not in that log.
    """
    have = ids_of(df, var)
    assert len(have) > 0, f"{var} is empty"
    dups = len(have) - len(set(have))
    assert dups == 0, f"{var} holds {dups} duplicate rows"
    ref = log(name)
    foreign = len(set(have) - set(ref["event_id"]))
    assert foreign == 0, f"{foreign} rows of {var} are not rows of data/{name}.csv"
    return ref[ref["event_id"].isin(set(have))]


def reveal(question, **frames):
    """The variables the help notebook's reveal code of part `question` sets when run on `frames`
    (with `pd`): the reference answers, so that no test restates how they are computed.

    `ctlab build` replaces this body with the reveal code of solutions/hints.yaml for the questions
    this module passes to it (see ctlab.reveal.with_reveals). Students see the same code in the help
    notebook.
    """
    raise AssertionError("the reveal code is filled in by ctlab build")


def wanted(s):
    """Which event names (a Series of strings) part 4 asks for (List*, Describe* or exactly GetObject),
    as a boolean Series: the names the reveal code of part 4 keeps. The reveal keeps rows by their name
    alone, so it runs on each distinct name once, not on thousands of rows."""
    names = pd.Series(s.unique(), dtype=object)
    kept = reveal("q4", cloud_api_df=pd.DataFrame({"event_name": names}))["susp_api"]
    return s.isin(set(names[names.index.isin(kept.index)]))


def base(df, name):
    """The pristine rows of `data/<name>.csv` that the reference answers start from.

    When `df` holds every row with a parseable timestamp and nothing foreign (for example, the student
    dropped only the NaT rows), those rows; otherwise the whole log. So a part-2 mistake is not charged
    again in the later parts.
    """
    ref = log(name)
    ok = pd.to_datetime(ref["timestamp"], utc=True, errors="coerce", format="ISO8601").notna()
    try:
        have = set(ids_of(df, name))
    except AssertionError:
        return ref
    if set(ref.loc[ok, "event_id"]) <= have <= set(ref["event_id"]):
        return ref[ref["event_id"].isin(have)]
    return ref


def ref_susp_iam(cloud_iam_df):
    """The reference answer of part 3 (the IAM rows with one of the four suspicious event names): the
    reveal code of part 3 run on the rows `base` picks."""
    return reveal("q3", cloud_iam_df=base(cloud_iam_df, "cloud_iam"))["susp_iam"]


def ref_related(cloud_iam_df, cloud_api_df):
    """The reference answer of part 5, (the users of the suspicious IAM rows, their API rows): the
    reveal code of part 5 run on the reference answer of part 3 and the rows `base` picks."""
    found = reveal("q5", susp_iam=ref_susp_iam(cloud_iam_df), cloud_api_df=base(cloud_api_df, "cloud_api"))
    return set(found["actors"]) - {""}, found["related_api"]


def technique_ids(x, strict=False):
    """The ATT&CK technique IDs in `x` (mitre_techniques), trimmed and upper-cased, as a set.

    Entries not written like T1234 or T1234.001 are left out; with `strict`, any such entry fails, and
    the message quotes it as the student wrote it.
    """
    import re
    written = strings(x, "mitre_techniques")
    assert written, "mitre_techniques is empty"
    bad = [v for v in written if not re.fullmatch(r"T\d{4}(\.\d{3})?", v.strip().upper())]
    assert not (strict and bad), (f'mitre_techniques holds "{bad[0]}", which is not an ATT&CK technique ID: '
                                  "write IDs like T1234 or T1234.001")
    ids = {v.strip().upper() for v in written if v not in bad}
    assert ids, "mitre_techniques holds no ATT&CK technique ID"
    return ids


def attack_techniques():
    """The ATT&CK Enterprise techniques part 7 accepts, {ID: name}: the table shown in part 7.

    In ID order, so that a technique's place in the table says nothing about this incident. A test
    checks that the student notebook's table is this one.
    """
    return {
        'T1059.009': 'Command and Scripting Interpreter: Cloud API',
        'T1069': 'Permission Groups Discovery',
        'T1069.003': 'Permission Groups Discovery: Cloud Groups',
        'T1078': 'Valid Accounts',
        'T1078.001': 'Valid Accounts: Default Accounts',
        'T1078.004': 'Valid Accounts: Cloud Accounts',
        'T1087': 'Account Discovery',
        'T1087.004': 'Account Discovery: Cloud Account',
        'T1098': 'Account Manipulation',
        'T1098.001': 'Account Manipulation: Additional Cloud Credentials',
        'T1098.003': 'Account Manipulation: Additional Cloud Roles',
        'T1110': 'Brute Force',
        'T1110.003': 'Brute Force: Password Spraying',
        'T1136': 'Create Account',
        'T1136.003': 'Create Account: Cloud Account',
        'T1190': 'Exploit Public-Facing Application',
        'T1485': 'Data Destruction',
        'T1486': 'Data Encrypted for Impact',
        'T1496': 'Resource Hijacking',
        'T1526': 'Cloud Service Discovery',
        'T1528': 'Steal Application Access Token',
        'T1530': 'Data from Cloud Storage',
        'T1531': 'Account Access Removal',
        'T1535': 'Unused/Unsupported Cloud Regions',
        'T1537': 'Transfer Data to Cloud Account',
        'T1538': 'Cloud Service Dashboard',
        'T1548': 'Abuse Elevation Control Mechanism',
        'T1548.005': 'Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access',
        'T1550': 'Use Alternate Authentication Material',
        'T1550.001': 'Use Alternate Authentication Material: Application Access Token',
        'T1552': 'Unsecured Credentials',
        'T1552.005': 'Unsecured Credentials: Cloud Instance Metadata API',
        'T1556': 'Modify Authentication Process',
        'T1556.006': 'Modify Authentication Process: Multi-Factor Authentication',
        'T1562': 'Impair Defenses',
        'T1562.008': 'Impair Defenses: Disable or Modify Cloud Logs (ATT&CK v18; v19 moved it to T1685.002)',
        'T1567': 'Exfiltration Over Web Service',
        'T1578': 'Modify Cloud Compute Infrastructure',
        'T1580': 'Cloud Infrastructure Discovery',
        'T1619': 'Cloud Storage Object Discovery',
        'T1621': 'Multi-Factor Authentication Request Generation',
        'T1685.002': 'Disable or Modify Cloud Log (ATT&CK v19; formerly T1562.008)',
    }


def incident_techniques():
    """The answer key of part 7: {"core": [...], "evidenced": [...]}. Only hidden tests may use it.

    `core`: the incident's three core behaviours, the parent techniques a full answer must cover (the
    key's `required_techniques`): the engineer's own key used by the intruder (Valid Accounts), the
    policy attached to a role and the access key made for another user (Account Manipulation), and
    the finance exports downloaded (Data from Cloud Storage).
    `evidenced`: every ID of the table the logs give evidence for: the core ones with their fitting
    sub-techniques, the discovery burst (IAM, groups and policies, EC2, S3 and other services), the
    MFA device deactivated, the region the account never uses, the role's temporary credentials used
    from a second address, the elevation through the role, the calls made with the CLI and the
    downloads over HTTPS. The key's `techniques` are a subset; a test checks both against the key.
    """
    return {
        "core": ["T1078", "T1098", "T1530"],
        "evidenced": [
            "T1059.009", "T1069", "T1069.003", "T1078", "T1078.004", "T1087", "T1087.004", "T1098",
            "T1098.001", "T1098.003", "T1526", "T1530", "T1535", "T1548", "T1548.005", "T1550",
            "T1550.001", "T1556", "T1556.006", "T1567", "T1580", "T1619",
        ],
    }


def mapping_credit(x):
    """Part 7's credit for the analysis, out of 2.5, as a Fraction: 2.5 x coverage x precision.

    Entries are trimmed and upper-cased and count once. Coverage: the share of the core behaviours
    named by an evidenced ID (a sub-technique counts for its parent). Precision: the share of the
    listed entries that are evidenced; anything else (an ID of the table this incident does not show,
    an ID not in the table, text that is no ID) lowers it. So padding costs in proportion: listing
    the whole table keeps about half of the credit. Exact arithmetic, so thresholds are exact.
    """
    from fractions import Fraction
    listed = {v.strip().upper() for v in strings(x, "mitre_techniques")}
    assert listed, "mitre_techniques is empty"
    key = incident_techniques()
    supported = listed & set(key["evidenced"])
    covered = {t.split(".")[0] for t in supported} & set(key["core"])
    return Fraction(5, 2) * Fraction(len(covered), len(key["core"])) * Fraction(len(supported), len(listed))


def number(x):
    """`x` as a float, after checking it is a finite real number (not a bool): minutes_to_exfil.

    A Timedelta (what subtracting two timestamps gives) is recognised and the message says how to turn
    it into minutes.
    """
    import datetime
    import numbers

    import numpy as np
    given(x, "minutes_to_exfil")
    if isinstance(x, (pd.Timedelta, datetime.timedelta, np.timedelta64)):
        raise AssertionError(f"minutes_to_exfil is a Timedelta ({pd.Timedelta(x)}), not a number of minutes: "
                             "use .total_seconds() / 60")
    if isinstance(x, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        raise AssertionError(f"minutes_to_exfil is a {type(x).__name__} of {len(x)} values, not one number: "
                             "take the one value you need (for example .iloc[0])")
    assert isinstance(x, numbers.Real) and not isinstance(x, bool), f"minutes_to_exfil should be a number, not {type(x).__name__}"
    assert x == x and abs(x) != float("inf"), "minutes_to_exfil should be a finite number"
    return float(x)


def answer_key():
    """The answer key's values that hidden tests compare with, for the student's own variant.

    The grader puts that variant's key (made by `ctlab build` from its ground_truth.json, see
    ctlab.build.answer_key) at `data/answer_key.json` when it runs the hidden tests, so no test
    holds an answer: every variant is graded against its own. Only hidden tests may use it.
    """
    import json
    with open("data/answer_key.json", encoding="utf-8") as fh:
        return json.load(fh)


def ioc_kinds():
    """The kinds of indicator `iocs` holds (part 6's IOC question), in the order the prompt names them."""
    return ["principals", "access_keys", "source_ips", "regions", "buckets"]


def ioc_lists(iocs):
    """`iocs` as {kind: [values as written, trimmed]}, after checking its shape: a dict with exactly
    the kinds of ioc_kinds() as keys, each a list (or tuple, set, array, Series) of strings."""
    given(iocs, "iocs")
    assert isinstance(iocs, dict), f"iocs should be a dict of lists by kind, not {type(iocs).__name__}"
    kinds = ioc_kinds()
    unknown = [k for k in iocs if k not in kinds]
    assert not unknown, (f"iocs has keys that are not kinds of indicator: {', '.join(repr(k) for k in unknown)} "
                         f"(use {', '.join(kinds)})")
    missing = [k for k in kinds if k not in iocs]
    assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
    return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}


def ioc_seen():
    """{kind: every value of that kind the two logs hold}: users, access key ids (used or created),
    source IPs, regions, and bucket names (the first part of an S3 resource)."""
    import re
    both = pd.concat([log("cloud_iam"), log("cloud_api")], ignore_index=True)
    keys = set(both["access_key_id"])
    for col in ("details", "resource"):
        keys |= set(re.findall(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", " ".join(both[col])))
    s3 = both[both["event_source"].str.startswith("s3")]
    seen = {
        "principals": set(both["user"]),
        "access_keys": keys,
        "source_ips": set(both["source_ip"]),
        "regions": set(both["region"]),
        "buckets": {r.split("/")[0] for r in s3["resource"]},
    }
    return {k: v - {""} for k, v in seen.items()}


def ioc_same(kind, value, key_value):
    """Whether a listed value names a value of the answer key: exact, except that a role name stands for
    its sessions (DataPipelineRole for DataPipelineRole/ops) and case does not matter for keys' kinds
    that AWS treats without case (regions, buckets)."""
    if kind in ("regions", "buckets"):
        return value.lower() == key_value.lower()
    if kind == "principals" and "/" in key_value:
        return value in (key_value, key_value.split("/")[0])
    return value == key_value


def ioc_found(iocs, kind):
    """(how many of the key's values of `kind` the list names, how many listed values the key does not
    accept) for the hidden tests of part 6's IOC question."""
    got = ioc_lists(iocs)[kind]
    key = answer_key()["iocs"][kind]
    named = sum(any(ioc_same(kind, v, k) for v in got) for k in key["required"])
    wrong = sum(not any(ioc_same(kind, v, k) for k in key["required"] + key["accepted"]) for v in set(got))
    return named, wrong
