"""`ctlab build --variants N` runs the data check on every week it ships, and stops on one that fails;
`ctlab data check --variant N` (or a variant's zip) checks one week as the build does."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ctlab import variants
from ctlab.build import build, variant_data
from ctlab.errors import CtlabError

ROOT = Path(__file__).resolve().parents[1]
ODD_REGION = "me-south-1"  # a region no week of the course uses


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the project with variants 1 and 2, their data made (if stale) and checked once."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "solutions", root / "solutions")
    shutil.copytree(ROOT / "data", root / "data", ignore=shutil.ignore_patterns("v0[3-9]", "v1*", "checks.json"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    variant_data.ensure(root=root, count=2)
    return root


@pytest.fixture
def copy(project, tmp_path):
    """A copy of the checked project a test may change."""
    shutil.copytree(project, tmp_path / "p")
    return tmp_path / "p"


def _break_bucket_region(root: Path) -> str:
    """Log one benign call on variant 2's sensitive bucket in another region; returns the bucket."""
    folder = root / variants.STORED / "v02"
    truth = json.loads((folder / variants.TRUTH).read_text(encoding="utf-8"))
    attack = {e["event_id"] for e in truth["timeline"]}
    with zipfile.ZipFile(folder / variants.DATA_ZIP) as zf:
        files = {name: zf.read(name).decode("utf-8") for name in zf.namelist()}
    rows = list(csv.DictReader(io.StringIO(files["cloud_api.csv"])))
    victim = next(r for r in rows if r["event_id"] not in attack
                  and r["resource"].startswith(truth["sensitive_bucket"] + "/"))
    victim["region"] = ODD_REGION
    out = io.StringIO()
    w = csv.DictWriter(out, list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    files["cloud_api.csv"] = out.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    (folder / variants.DATA_ZIP).write_bytes(buf.getvalue())
    return str(truth["sensitive_bucket"])


@pytest.mark.slow
def test_checked_weeks_are_recorded_and_not_checked_again(copy):
    record = json.loads((copy / variants.STORED / variant_data.CHECKS).read_text(encoding="utf-8"))
    assert sorted(record) == ["v01", "v02"]
    assert variant_data.check(root=copy, count=2) == []  # unchanged: nothing to check
    (copy / "data" / "ground_truth.json").write_bytes((copy / "data" / "ground_truth.json").read_bytes() + b"\n")
    assert variant_data.check(root=copy, count=2) == ["v01"]  # a changed week is checked again


@pytest.mark.slow
def test_a_variant_that_breaks_an_invariant_stops_the_build(copy):
    project = copy
    bucket = _break_bucket_region(project)
    with pytest.raises(CtlabError) as err:
        build(root=project, count=2)
    message = str(err.value)
    assert message.startswith(f"{project / 'data' / 'variants' / 'v02'}: variant 2 fails the data check: "
                              f"bucket-region: {bucket} is logged in 2 regions (")
    assert ODD_REGION in message and "\n" not in message
    assert not (project / "assignment").exists() and not (project / "autograder").exists()
    record = json.loads((project / variants.STORED / variant_data.CHECKS).read_text(encoding="utf-8"))
    assert "v02" not in record

    # the instructor's view of the same week: by number, and by its zip
    for how in (["--variant", "2", "--root", str(project)], [str(project / variants.STORED / "v02" / "data.zip")]):
        r = subprocess.run([sys.executable, "-m", "ctlab.cli", "data", "check", *how], capture_output=True, text=True)
        assert (r.returncode, r.stderr) == (1, ""), r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith(f"bucket-region: {bucket} is logged in 2 regions (") and ODD_REGION in lines[0]
        assert lines[-1].endswith("; 1 violation")


def test_check_variant_names_a_missing_week(tmp_path):
    with pytest.raises(CtlabError, match=r"v05/data\.zip: variant 5 has no such file \(run `ctlab build --variants N` "
                                         r"with N >= 5 to make it\)"):
        variant_data.check_variant(root=tmp_path, variant=5)
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    r = subprocess.run([sys.executable, "-m", "ctlab.cli", "data", "check", str(tmp_path / "bad.zip")],
                       capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (f"ctlab: error: {tmp_path / 'bad.zip'}: not a variant's data zip with cloud_iam.csv and "
                        "cloud_api.csv (BadZipFile: File is not a zip file)\n")
