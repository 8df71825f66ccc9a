"""The help notebook's reveal code as the one source of the reference answers (ctlab.reveal)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ctlab.build.notebooks import load_checks
from ctlab.errors import CtlabError
from ctlab.reveal import HINTS, answer_cells, reveal_code, run_reveals, with_reveals

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "report" / "root" / "assignment" / "data"


def test_reveals_read_the_data_folder_asked_for_whatever_the_working_directory(tmp_path, monkeypatch):
    data = tmp_path / "elsewhere"
    shutil.copytree(FIXTURE_DATA, data)
    (tmp_path / "data").mkdir()  # a decoy where the reveal's relative path would point
    (tmp_path / "data" / "cloud_iam.csv").write_text("event_id\n")
    monkeypatch.chdir(tmp_path)
    found = run_reveals(hints=ROOT / HINTS, data_dir=data, questions=["q1", "q2", "q3"])
    assert list(found) == ["cloud_iam_df", "cloud_api_df", "susp_iam"]
    assert (len(found["cloud_iam_df"]), len(found["cloud_api_df"]), len(found["susp_iam"])) == (10, 14, 5)
    assert isinstance(found["cloud_iam_df"]["timestamp"].dtype, pd.DatetimeTZDtype)
    assert Path.cwd() == tmp_path


def test_missing_data_is_one_error_naming_the_folder(tmp_path):
    with pytest.raises(CtlabError, match=rf"^{tmp_path}: cannot read the exercise data"):
        run_reveals(hints=ROOT / HINTS, data_dir=tmp_path, questions=["q1"])


def test_answer_cells_are_the_reveals_but_parts_1_and_7():
    reveals, cells = reveal_code(ROOT / HINTS), answer_cells(ROOT / HINTS)
    assert sorted(cells) == sorted(q for q in reveals if q != "q8")
    assert {q for q in cells if cells[q] != reveals[q]} == {"q1", "q7"}
    assert reveals["q1"].startswith(cells["q1"] + "\n") and "\n" in cells["q1"]
    assert cells["q7"] == 'mitre_techniques = ["T1078", "T1098", "T1530"]\nmitre_techniques'


def test_checks_reveal_is_filled_with_the_reveals_it_is_asked_for(tmp_path):
    checks = load_checks(ROOT / "solutions" / "checks.py")
    filled = with_reveals(checks, ROOT / HINTS)
    env: dict[str, object] = {"pd": pd}
    exec("\n".join(filled.code["reveal"]), env)
    iam = pd.DataFrame({"event_name": ["AssumeRole", "GetObject", "CreateAccessKey"], "user": ["a", "b", "c"]})
    assert env["reveal"]("q3", cloud_iam_df=iam)["susp_iam"].index.tolist() == [0, 2]
    with pytest.raises(KeyError):
        env["reveal"]("q11")  # only the parts the check functions name
    assert "pd" in filled.uses["reveal"]
    odd = dataclasses.replace(checks, code={**checks.code, "extra": ["def extra(q):", "    return reveal(q)"]})
    with pytest.raises(CtlabError, match=r"checks.py: reveal\(\) needs the question as a string literal"):
        with_reveals(odd, ROOT / HINTS)
    odd = dataclasses.replace(checks, code={**checks.code, "extra": ["def extra():", "    return reveal('q99')"]})
    with pytest.raises(CtlabError, match=r"reveal\(\) is asked for q99, which .*hints.yaml has no reveal for"):
        with_reveals(odd, ROOT / HINTS)
