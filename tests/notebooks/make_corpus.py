"""Write the mistake corpus: small student-style notebooks, each named by its expected outcome.

Run `python tests/notebooks/make_corpus.py` to regenerate them. Each notebook is the reference
answer with one common mistake put in; tests/test_notebooks.py asserts the exact per-question
scores each one earns.
"""

import runpy
import sys
from pathlib import Path

import nbformat

from ctlab.reveal import HINTS, reveal_code

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, when run as a script
from student_ids import FIRST, head_code  # noqa: E402  (tests/student_ids.py)

HERE = Path(__file__).parent
ROOT = HERE.resolve().parents[1]
IOCS = reveal_code(ROOT / HINTS)["q11"]  # part 6b: the help notebook's reveal
TRANSFER = reveal_code(ROOT / HINTS)["q12"]  # part 8b: the help notebook's reveal
TABLE = list(runpy.run_path(str(ROOT / "solutions" / "checks.py"))["attack_techniques"]())  # the part-7 table, in ID order

BASE = {
    "setup": head_code(FIRST) + "\nimport pandas as pd",
    "q1": 'cloud_iam_df = pd.read_csv("data/cloud_iam.csv")\ncloud_api_df = pd.read_csv("data/cloud_api.csv")',
    "q2": (
        "for df in (cloud_iam_df, cloud_api_df):\n"
        '    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="ISO8601")\n'
        '    df["hour"] = df["timestamp"].dt.hour'
    ),
    "q3": 'susp_iam = cloud_iam_df[cloud_iam_df["event_name"].isin(["CreateAccessKey", "AttachRolePolicy", "AssumeRole", "DeactivateMFADevice"])]',
    "q4": (
        'name = cloud_api_df["event_name"]\n'
        'susp_api = cloud_api_df[name.str.startswith(("List", "Describe")) | (name == "GetObject")]'
    ),
    "q5": 'actors = list(susp_iam["user"].unique())\nrelated_api = cloud_api_df[cloud_api_df["user"].isin(actors)]',
    "q6": 'susp_users = set(susp_iam["user"])',
    "q7": 'mitre_techniques = ["T1078.004", "T1098.003", "T1098.001", "T1087.004", "T1530"]',
    "q8": 'triage_summary = "d.whitfield was compromised and used to take over DataPipelineRole and download finance exports."',
    "q9": (
        'grants = cloud_iam_df[(cloud_iam_df["event_name"] == "AttachRolePolicy")\n'
        '                      & cloud_iam_df["details"].str.contains("AdministratorAccess", na=False)]\n'
        'compromised_user = grants["user"].iloc[0]\n'
        'attacker_ip = grants["source_ip"].iloc[0]'
    ),
    "q10": (
        'change = grants["timestamp"].iloc[0]\n'
        'known = set(pd.concat([cloud_iam_df, cloud_api_df]).query("timestamp < @change")["source_ip"])\n'
        'gets = cloud_api_df[(cloud_api_df["event_name"] == "GetObject") & (cloud_api_df["timestamp"] > change)\n'
        '                    & ~cloud_api_df["source_ip"].isin(known)]\n'
        'minutes_to_exfil = (gets["timestamp"].min() - change) / pd.Timedelta(minutes=1)'
    ),
    "q11": IOCS,
    "q12": TRANSFER,
}

VARIANTS = {
    "passes_all": {},
    "fails_q2_parse_without_utc": {
        "q2": (
            "for df in (cloud_iam_df, cloud_api_df):\n"
            "    df['timestamp'] = pd.to_datetime(df['timestamp'].astype(str).str.replace('Z', '', regex=False), errors='coerce')\n"
            "    df['hour'] = df['timestamp'].dt.hour"
        ),
    },
    "fails_q2_dropped_nat_rows": {
        "q2": BASE["q2"] + "\n"
        'cloud_iam_df = cloud_iam_df.dropna(subset=["timestamp"])\n'
        'cloud_api_df = cloud_api_df.dropna(subset=["timestamp"])',
    },
    "fails_q3_missing_event_name": {
        "q3": 'susp_iam = cloud_iam_df[cloud_iam_df["event_name"].isin(["CreateAccessKey", "AttachRolePolicy", "AssumeRole"])]',
    },
    "fails_q3_extra_event_name": {
        "q3": 'susp_iam = cloud_iam_df[cloud_iam_df["event_name"].isin(["CreateAccessKey", "AttachRolePolicy", "AssumeRole", "DeactivateMFADevice", "AttachUserPolicy"])]',
    },
    "fails_q4_getobject_lookalike": {
        "q4": (
            'name = cloud_api_df["event_name"]\n'
            'susp_api = cloud_api_df[name.str.startswith("List") | name.str.startswith("Describe") | name.str.contains("GetObject")]'
        ),
    },
    "fails_q5_actors_from_api_log": {
        "q5": 'actors = list(susp_api["user"].unique())\nrelated_api = cloud_api_df[cloud_api_df["user"].isin(actors)]',
    },
    "fails_q5_related_rows_from_iam_log": {
        "q5": 'actors = list(susp_iam["user"].unique())\nrelated_api = cloud_iam_df[cloud_iam_df["user"].isin(actors)]',
    },
    "fails_q7_missing_technique": {"q7": 'mitre_techniques = ["T1078.004", "T1098"]'},
    "fails_q7_made_up_technique": {"q7": 'mitre_techniques = ["t1078", " T1098.003 ", "T1530", "T1999"]'},
    "fails_q7_technique_not_in_incident": {"q7": 'mitre_techniques = ["T1078", "T1098", "T1530", "T1485"]'},
    "fails_q7_lists_whole_table": {"q7": f"mitre_techniques = {TABLE!r}"},
    "fails_q7_lists_half_table": {"q7": f"mitre_techniques = {TABLE[:len(TABLE) // 2]!r}"},
    "fails_q7_single_technique": {"q7": 'mitre_techniques = ["T1078.004"]'},
    # part 8b: the one busy user of the second account is the console user; their key is the wrong pivot
    "fails_q12_console_users_key": {
        "q12": TRANSFER + "\ntransfer_key = transfer.loc[transfer['user_agent'].str.startswith('console', na=False), "
        "'access_key_id'].iloc[0]",
    },
}


def notebook(changes: dict[str, str]) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(changes.get(key, src)) for key, src in BASE.items()]
    for i, cell in enumerate(cells):
        cell["id"] = f"corpus-{i:02d}"
    return nbformat.v4.new_notebook(
        cells=cells,
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )


if __name__ == "__main__":
    for name, changes in VARIANTS.items():
        nbformat.write(notebook(changes), HERE / f"{name}.ipynb")
        print(f"wrote {name}.ipynb")
