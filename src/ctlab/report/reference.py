"""The right answers the report compares wrong answers against.

They are computed by the help notebook's reveal code (which the tests accept as a
full-marks answer) run on the CSVs the tests read: `<root>/assignment/data/` or, failing
that, `<root>/data/` (the same files). Data flows one way: the CSVs and the grading outputs go in,
the report comes out; nothing here grades or writes back.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctlab.errors import CtlabError

SUSPICIOUS_IAM_EVENTS = ["CreateAccessKey", "AttachRolePolicy", "AssumeRole", "DeactivateMFADevice"]
REFERENCE_TECHNIQUES = ["T1078", "T1098", "T1530"]


def find_data_dir(root: Path) -> Path | None:
    for candidate in (Path(root) / "assignment" / "data", Path(root) / "data"):
        if (candidate / "cloud_iam.csv").is_file() and (candidate / "cloud_api.csv").is_file():
            return candidate
    return None


def _parse(df: pd.DataFrame) -> None:
    df["timestamp"] = pd.to_datetime(
        df["timestamp"].astype(str).str.replace("Z", "", regex=False), utc=True, errors="coerce"
    )
    df["hour"] = df["timestamp"].dt.hour


def reference_answers(data_dir: Path) -> dict[str, object]:
    """The contract's variables as the reveal code computes them."""
    try:
        cloud_iam_df = pd.read_csv(data_dir / "cloud_iam.csv")
        cloud_api_df = pd.read_csv(data_dir / "cloud_api.csv")
    except (OSError, ValueError) as exc:
        raise CtlabError(f"{data_dir}: cannot read the exercise data ({exc})") from None
    _parse(cloud_iam_df)
    _parse(cloud_api_df)
    susp_iam = cloud_iam_df[cloud_iam_df["event_name"].isin(SUSPICIOUS_IAM_EVENTS)]
    names = cloud_api_df["event_name"]
    susp_api = cloud_api_df[names.str.startswith("List") | names.str.startswith("Describe") | names.isin(["GetObject"])]
    actors = susp_iam["user"].unique().tolist()
    related_api = cloud_api_df[cloud_api_df["user"].isin(actors)]
    susp_users = susp_iam["user"].unique().tolist()
    return {
        "cloud_iam_df": cloud_iam_df,
        "cloud_api_df": cloud_api_df,
        "susp_iam": susp_iam,
        "susp_api": susp_api,
        "actors": actors,
        "related_api": related_api,
        "susp_users": susp_users,
        "mitre_techniques": list(REFERENCE_TECHNIQUES),
    }
