"""The help notebook's reveal answers for parts 1-7 and 6b (q11), as a student pastes them into the answer cells.

This is the one copy the corpus generators build on (tests/test_report_demo.py for the demo
submissions, tests/submissions/make_corpus.py for the grading corpus). The grader must give these
answers full marks.

Parts 2-6 and 6b are the help notebook's reveal cells verbatim (their source is solutions/hints.yaml). Part 1's
answer is the loading lines of reveal 1 (without its closing look at the frames); part 7 puts the
reveal's example IDs straight into the contract variable. `paste_reveals` pastes the reveals themselves
into the student notebook (tests/test_notebooks.py, tests/test_student_env.py). Part 8 (the triage summary) is written
prose graded by hand; each corpus brings its own. tests/test_notebooks.py checks this file against
solutions/hints.yaml.
"""

from __future__ import annotations

import ast

LOAD = "cloud_iam_df = pd.read_csv('data/cloud_iam.csv')\ncloud_api_df = pd.read_csv('data/cloud_api.csv')"

PARSE = """\
cloud_iam_df['timestamp'] = pd.to_datetime(
    cloud_iam_df['timestamp'].astype(str).str.replace('Z', '', regex=False),
    utc=True,
    errors='coerce'
)
cloud_iam_df['hour'] = cloud_iam_df['timestamp'].dt.hour

cloud_api_df['timestamp'] = pd.to_datetime(
    cloud_api_df['timestamp'].astype(str).str.replace('Z', '', regex=False),
    utc=True,
    errors='coerce'
)
cloud_api_df['hour'] = cloud_api_df['timestamp'].dt.hour"""

SUSP_IAM = """\
susp_iam = cloud_iam_df[cloud_iam_df['event_name'].isin([
    'CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice'
])]
susp_iam.head()"""

SUSP_API = """\
susp_api = cloud_api_df[cloud_api_df['event_name'].str.startswith('List') |
                        cloud_api_df['event_name'].str.startswith('Describe') |
                        cloud_api_df['event_name'].isin(['GetObject'])]
susp_api.head()"""

ACTORS = """\
actors = susp_iam['user'].unique().tolist()
related_api = cloud_api_df[cloud_api_df['user'].isin(actors)]
related_api.head()"""

SUSP_USERS = "susp_users = susp_iam['user'].unique().tolist()\nsusp_users"

MITRE_IDS = ["T1078", "T1098", "T1530"]
MITRE = "mitre_techniques = [" + ", ".join(f'"{t}"' for t in MITRE_IDS) + "]\nmitre_techniques"

IOCS = r"""
events = pd.concat([cloud_iam_df, cloud_api_df], ignore_index=True)
grant = susp_iam[(susp_iam["event_name"] == "AttachRolePolicy")
                 & susp_iam["details"].str.contains("AdministratorAccess", na=False)].iloc[0]
made = susp_iam[(susp_iam["access_key_id"] == grant["access_key_id"])
                & (susp_iam["source_ip"] == grant["source_ip"])]
new_keys = set(made["details"].str.extract(r"ccessKeyId=(\w+)")[0].dropna())
intruder = events[events["access_key_id"].isin(new_keys)
                  | ((events["access_key_id"] == grant["access_key_id"])
                     & (events["source_ip"] == grant["source_ip"]))]
others = events.drop(intruder.index)
iocs = {
    "principals": sorted(intruder["user"].unique()),
    "access_keys": sorted({grant["access_key_id"]} | new_keys),
    "source_ips": sorted(intruder["source_ip"].unique()),
    "regions": sorted(set(intruder["region"]) - set(others["region"])),
    "buckets": sorted(set(intruder.loc[intruder["event_name"] == "GetObject", "resource"].str.split("/").str[0])),
}
iocs"""[1:]  # raw: the reveal's regular expression keeps its backslash

# question -> the answer cell's code
REVEAL: dict[str, str] = {
    "q1": LOAD,
    "q2": PARSE,
    "q3": SUSP_IAM,
    "q4": SUSP_API,
    "q5": ACTORS,
    "q6": SUSP_USERS,
    "q7": MITRE,
    "q11": IOCS,
}


def without_display(code: str) -> str:
    """The answer without its closing expression that only shows a result (`susp_api.head()`, `susp_users`)."""
    last = ast.parse(code).body[-1]
    if not isinstance(last, ast.Expr):
        return code
    return "\n".join(code.splitlines()[: last.lineno - 1])


def help_reveals(hints_path) -> dict[str, str]:
    """{question: reveal code} of the help notebook's sections, as solutions/hints.yaml holds them."""
    import yaml

    hints = yaml.safe_load(open(hints_path, encoding="utf-8"))
    return {s["question"]: s["reveal"].rstrip("\n") for s in hints["sections"] + hints.get("extra_sections", [])}


def paste_reveals(nb, reveals: dict[str, str]) -> list[str]:
    """Paste each reveal into its part's answer cell of the student notebook, as a student would.

    An answer cell belongs to the question of the next `grader.check` cell, except part 8's (no check):
    the one that starts with `triage_summary`. Returns the questions pasted, in notebook order."""
    import re

    pasted, waiting = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "otter_assign_solution_cell" in cell.metadata.get("tags", []):
            if cell.source.startswith("triage_summary") and "q8" in reveals:
                cell.source = reveals["q8"]
                pasted.append("q8")
            else:
                waiting.append(cell)
            continue
        m = re.fullmatch(r'grader\.check\("(q\d+)"\)', cell.source.strip())
        if m and waiting:
            if m.group(1) in reveals:
                assert len(waiting) == 1, f"{m.group(1)} has {len(waiting)} answer cells"
                waiting[0].source = reveals[m.group(1)]
                pasted.append(m.group(1))
            waiting = []
    return pasted
