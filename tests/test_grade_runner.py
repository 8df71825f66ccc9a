"""The phase-2 test runner on the real autograder: the grades otter's own test run gives, with no
change to the process it runs in (working directory, pandas, the import machinery)."""

from __future__ import annotations

import builtins
import contextlib
import os
from pathlib import Path

import pandas as pd
import pytest
from otter.test_files.exception_test import ExceptionTestFile

from ctlab import contract, variants
from ctlab.grading import snapshot
from ctlab.grading.pristine import lay_out
from ctlab.grading.runner import TestRunner

REPO = Path(__file__).resolve().parents[1]
SOLVED = [
    "cloud_iam_df = pd.read_csv('data/cloud_iam.csv')\ncloud_api_df = pd.read_csv('data/cloud_api.csv')",
    "for df in (cloud_iam_df, cloud_api_df):\n"
    "    df['timestamp'] = pd.to_datetime(df['timestamp'], utc=True, errors='coerce')\n"
    "    df['hour'] = df['timestamp'].dt.hour",
    "susp_iam = cloud_iam_df[cloud_iam_df['event_name'].isin(['CreateAccessKey', 'AttachRolePolicy', "
    "'AssumeRole', 'DeactivateMFADevice'])]",
    "n = cloud_api_df['event_name']\n"
    "susp_api = cloud_api_df[n.str.startswith('List') | n.str.startswith('Describe') | (n == 'GetObject')]",
    "actors = susp_iam['user'].unique().tolist()\nrelated_api = cloud_api_df[cloud_api_df['user'].isin(actors)]",
    "susp_users = list(actors)",
    "mitre_techniques = ['T1078', 'T1098', 'T1530']",
]
ANSWERED = {"q1", "q2", "q3", "q4", "q5", "q6", "q7"}
NONE_AFTER_Q7 = {"q8": 0.0, "q9": 0.0, "q10": 0.0, "q11": 0.0, "q12": 0.0}
SOLVED_POINTS = {"q1": 1.0, "q2": 2.0, "q3": 2.0, "q4": 2.0, "q5": 2.0, "q6": 1.0, "q7": 3.0, **NONE_AFTER_Q7}
# Times parsed without their time zone, and the rows whose time does not parse dropped: two of
# q2's tests check the logs against data/*.csv as the tests read it.
Q2_MISTAKES_POINTS = {**SOLVED_POINTS, "q2": 0.5}
NO_UTC = ("AssertionError: cloud_iam_df['timestamp'] has no time zone: CloudTrail times are UTC, "
          "so parse with utc=True")
# the rows whose timestamp cannot be parsed: dropping them is the mistake q2's second test names
_IAM_TIMES = pd.read_csv(REPO / "assignment" / "data" / "cloud_iam.csv", usecols=["timestamp"])["timestamp"]
UNPARSED = int(pd.to_datetime(_IAM_TIMES, utc=True, errors="coerce").isna().sum())
Q2_MISTAKES_FAILED = {
    "q2 - 1": f"❌ Test case failed\nError at line 26 in test q2:\n      utc_times(cloud_iam_df, 'cloud_iam_df')\n{NO_UTC}",
    "q2 - 2": "❌ Test case failed\nError at line 60 in test q2:\n          assert lost == 0, f'{var} has lost {lost} rows "
              "of data/{name}.csv: keep the rows whose timestamp cannot be parsed (they become NaT)'\n"
              f"AssertionError: cloud_iam_df has lost {UNPARSED} rows of data/cloud_iam.csv: keep the rows whose timestamp "
              "cannot be parsed (they become NaT)",
    "q2 - 4": f"❌ Test case failed\nError at line 123 in test q2:\n          ts = utc_times(df, var)\n{NO_UTC}",
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pristine")
    # every variant's data and key, as `ctlab grade` lays them out; the snapshots here are variant 1's
    return lay_out(data_dir=REPO / "assignment" / "data", keys=variants.answer_keys(REPO), into=d / "p")


def _snapshot_of(cells: list[str], pristine: Path, target: Path) -> Path:
    ns: dict[str, object] = {"pd": pd}
    with contextlib.chdir(pristine / "v01"):
        for cell in cells:
            exec(cell, ns)
    snapshot.write_snapshot(ns, list(contract.ANSWER_VARIABLES), target, len(cells))
    return target


@pytest.fixture(scope="module")
def solved_snapshot(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _snapshot_of(SOLVED, pristine, tmp_path_factory.mktemp("solved") / "snap")


@pytest.fixture(scope="module")
def q2_mistakes_snapshot(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cells = [c.replace("pd.to_datetime(df['timestamp'], utc=True, errors='coerce')",
                       "pd.to_datetime(df['timestamp'].str.rstrip('Z'), errors='coerce')")
              .replace("df['hour'] = df['timestamp'].dt.hour",
                       "df['hour'] = df['timestamp'].dt.hour\n    df.dropna(subset=['timestamp'], inplace=True)")
             for c in SOLVED]
    return _snapshot_of(cells, pristine, tmp_path_factory.mktemp("q2_mistakes") / "snap")


def _otter_outcomes(runner: TestRunner, snap: Path, pristine: Path) -> list[tuple[str, bool, str]]:
    """What otter's own ExceptionTestFile.run makes of the snapshot's values, with the real
    pandas, for every test case whose variables the snapshot holds."""
    values = snapshot.load_snapshot(snap)
    out = []
    for path in runner.autograder.test_paths:
        tf = ExceptionTestFile.from_file(str(path))
        with contextlib.chdir(pristine / "v01"):
            tf.run({k: v.copy() if isinstance(v, pd.DataFrame) else v for k, v in values.items()})
        out += [(r.test_case.name, r.passed, r.message) for r in tf.test_case_results
                if all(a in values for a in r.test_case.body._get_func_params())]
    return out


def test_the_runner_grades_as_otter_does_and_leaves_the_process_as_it_was(
        pristine: Path, solved_snapshot: Path, q2_mistakes_snapshot: Path) -> None:
    before = (os.getcwd(), pd.read_csv, builtins.__import__)
    runner = TestRunner(REPO, pristine)
    # the third grading reuses the results and frames the first two left in the runner
    for snap, expected, failed in ((solved_snapshot, SOLVED_POINTS, {}),
                                   (q2_mistakes_snapshot, Q2_MISTAKES_POINTS, Q2_MISTAKES_FAILED),
                                   (solved_snapshot, SOLVED_POINTS, {})):
        points, records = runner.grade(str(snap), "v01")
        assert points == expected
        assert {r["name"]: r["message"] for r in records if not r["passed"] and r["question"] in ANSWERED} == failed
        otter = _otter_outcomes(runner, snap, pristine)
        ours = {r["name"]: (r["name"], r["passed"], r["message"]) for r in records}
        assert len(otter) >= 20
        assert [ours[name] for name, _, _ in otter] == otter
        assert (os.getcwd(), pd.read_csv, builtins.__import__) == before


def test_the_variant_check_reads_other_weeks_only_for_rows_that_are_not_the_own_weeks(
        pristine: Path, solved_snapshot: Path, tmp_path: Path) -> None:
    runner = TestRunner(REPO, pristine)
    assert runner.data_variant(str(solved_snapshot), "v01") is None  # variant 1's logs, graded as variant 1
    assert list(runner._event_ids) == ["v01"]  # no other week was read for it
    assert runner.data_variant(str(solved_snapshot), "v02") == "v01"  # the same answers under a variant 2 id
    assert sorted(runner._event_ids) == runner.variants() and len(runner.variants()) > 2
    foreign = _snapshot_of(["import pandas as pd\ncloud_iam_df = pd.DataFrame({'event_id': ['not-an-event']})\n"
                            "cloud_api_df = cloud_iam_df"], pristine, tmp_path / "snap")
    assert runner.data_variant(str(foreign), "v01") is None  # rows of no variant: its own tests say what is wrong


def _test_file(name: str, body: str) -> str:
    """An otter test file of one 1-point test case reading `cloud_iam_df` and the pristine IAM log."""
    return (f"from otter.test_files import test_case\n\nname = {name!r}\npoints = 1\n\n@test_case(points=1)\n"
            f"def test_{name}(cloud_iam_df):\n    import pandas as pd\n"
            "    log = pd.read_csv('data/cloud_iam.csv', dtype=object, keep_default_na=False)\n" + body)


MUTATES = _test_file("qa", """    for df in (cloud_iam_df, log):
        df["user"] = "changed"
        df.loc[df.index[0], "event_name"] = "changed"
        df.drop(columns=["region"], inplace=True)
        df.index.name = "changed"
        df.attrs["changed"] = True
        df.sort_values("event_id", inplace=True)
""")
SEES_ORIGINALS = _test_file("qb", """    for df in (cloud_iam_df, log):
        assert "changed" not in set(df["user"]) and "changed" not in set(df["event_name"])
        assert "region" in df.columns and df.index.name is None and not df.attrs
    assert cloud_iam_df["event_id"].tolist() == log["event_id"].tolist()
""")


def test_a_test_file_that_changes_its_inputs_changes_nothing_the_next_one_reads(
        pristine: Path, solved_snapshot: Path, tmp_path: Path) -> None:
    # Frames reach each test file as lazy copies (copy-on-write), not deep ones: the answers and the
    # pristine logs the runner keeps must still read the same after a test file changed its copies.
    runner = TestRunner(REPO, pristine)
    values, problems = snapshot.load_snapshot_with_problems(solved_snapshot, ["cloud_iam_df"])
    (tmp_path / "qa.py").write_text(MUTATES, encoding="utf-8")
    (tmp_path / "qb.py").write_text(SEES_ORIGINALS, encoding="utf-8")
    for path in (tmp_path / "qa.py", tmp_path / "qb.py", tmp_path / "qa.py", tmp_path / "qb.py"):
        points, records = runner._run(path, values, problems, pristine / "v01")
        assert (points, [r["passed"] for r in records]) == (1.0, [True]), records
