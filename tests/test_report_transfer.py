"""Part 8b's report line: each answer a student saved is sorted into found or the wrong pivot it shows,
whatever its type (snapshots are untrusted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctlab.report.transfer import load_transfer_key, pivots, transfer_lines

ROOT = Path(__file__).resolve().parents[1]
KEY = load_transfer_key(ROOT)
assert KEY is not None
RIGHT = {"transfer_principal": KEY["principal"], "transfer_key": KEY["access_key"], "transfer_objects": list(KEY["objects"])}


@pytest.mark.parametrize("changes,found,wrong", [
    ({}, {"principal", "key", "objects"}, []),
    ({"transfer_objects": pd.Series(KEY["objects"])}, {"principal", "key", "objects"}, []),
    ({"transfer_key": KEY["console_access_keys"][0]}, {"principal", "objects"}, ["the console user's key"]),
    ({"transfer_principal": KEY["console_user"]}, {"key", "objects"}, ["the console user as the principal"]),
    ({"transfer_principal": KEY["role"]}, {"key", "objects"}, ["the role without its session"]),
    ({"transfer_objects": ["s3://" + o for o in KEY["objects"]]}, {"principal", "key"}, ["objects written as s3:// URLs"]),
    ({"transfer_objects": [*KEY["objects"], "other-bucket/x"]}, {"principal", "key"}, ["more objects than were downloaded"]),
    ({"transfer_objects": np.array([1, 2])}, {"principal", "key"}, ["objects that are not a list of strings"]),
    ({"transfer_objects": {"a": 1}, "transfer_key": 7, "transfer_principal": ["x"]}, set(),
     ["a principal that is not a string", "a key that is not a string", "objects that are not a list of strings"]),
    ({"transfer_principal": None, "transfer_key": Ellipsis, "transfer_objects": None}, set(), ["not answered"]),
])
def test_each_answer_is_found_or_named_by_its_pivot(changes, found, wrong):
    assert pivots({**RIGHT, **changes}, KEY) == (found, wrong)


def test_lines_count_students_and_leave_out_the_not_answered_pivot():
    snaps = {"a": RIGHT, "b": {**RIGHT, "transfer_key": KEY["console_access_keys"][0]},
             "c": {**RIGHT, "transfer_key": KEY["console_access_keys"][0], "transfer_principal": KEY["console_user"]},
             "d": {}}
    assert transfer_lines(snaps, KEY, 5) == [
        "Part 8b (a second account): 1 of 5 students found all three answers (the principal 2, the key 1, the objects 3)",
        "Part 8b wrong pivots: the console user's key (2), the console user as the principal (1); 1 did not answer it",
    ]
    assert transfer_lines(snaps, None, 5) == []


def test_the_answer_key_agrees_with_the_records_and_the_metadata():
    """The key was written from the record set's documented story; the records must bear it out."""
    data = ROOT / "data" / "transfer"
    truth = json.loads((data / "ground_truth.json").read_text(encoding="utf-8"))
    meta = (data / "SDAWS-200914011940.yaml").read_text(encoding="utf-8")
    events = pd.concat([pd.read_csv(data / "cloud_iam.csv", dtype=str), pd.read_csv(data / "cloud_api.csv", dtype=str)])
    assert truth["access_key"] in meta and truth["role"] in meta  # the adversary's own commands show both
    bucket = truth["objects"][0].split("/")[0]
    assert f"s3://{bucket}" in meta
    used = events[events["access_key_id"] == truth["access_key"]]
    assert set(used["user"]) == {truth["principal"]} and truth["principal"].startswith(truth["role"] + "/")
    assert sorted(used.loc[used["event_name"] == "GetObject", "resource"].unique()) == truth["objects"]
    # EC2 handed that key to the instance: an AssumeRole by the service names it
    handed = events[(events["event_name"] == "AssumeRole") & (events["user_type"] == "AWSService")]
    assert handed["details"].str.contains(f"credentials.accessKeyId={truth['access_key']}", regex=False).sum() == 1
    console = events[events["user"] == truth["console_user"]]
    assert set(console["access_key_id"]) == set(truth["console_access_keys"])
    assert console["user_agent"].str.contains("console|EC2ConsoleFrontend").all()
    assert truth["access_key"] not in truth["console_access_keys"]


def test_the_part_is_extra_credit_unless_the_one_setting_makes_it_required():
    from ctlab import contract

    assert contract.TRANSFER_REQUIRED is False
    assert contract.STRETCH_QUESTIONS == {"q9", "q10", "q12"}
    assert contract.stretch_questions(transfer_required=True) == {"q9", "q10"}
    assert contract.POINTS["q12"] == 3
