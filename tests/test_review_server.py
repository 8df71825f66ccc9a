"""The review server over HTTP: the token and the host are checked on every request, scores outside
the rubric are refused, summaries reach the page escaped, and bad input is a one-line error."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest
from review_fixture import make_out
from test_review_browser import CTLAB, ROOT, SCRIPT, review_server


def call(url: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.slow
def test_token_host_scores_and_escaping(tmp_path):
    out = make_out(tmp_path / "out", {"a": "first summary", "script": SCRIPT})
    with review_server(out) as url:
        base, token = url.split("/?token=")
        status, page = call(url)
        assert status == 200
        assert "<script>window.pwned" not in page and "\\u003cscript\\u003ewindow.pwned" in page
        assert call(base + "/")[0] == 403
        assert call(base + "/?token=" + "x" * len(token))[0] == 403
        assert call(url, headers={"Host": "evil.example"})[0] == 400
        api = base + "/api/score"
        assert call(api, method="PUT", body={"index": 0, "criteria": {"1": 1}})[0] == 403  # no token
        auth = {"X-Review-Token": token}
        assert call(api, method="PUT", body={"index": 0, "criteria": {"1": 0.3}}, headers=auth) == (
            400, '{"error":"criterion 1: 0.3 is not a score it allows"}')
        assert call(api, method="PUT", body={"index": 0, "criteria": {"1": 2}}, headers=auth)[0] == 400
        assert call(api, method="PUT", body={"index": 9, "criteria": {}}, headers=auth)[0] == 400
        status, text = call(api, method="PUT", body={"index": 1, "criteria": {"1": 1, "2": 0.5, "3": 0},
                                                     "comment": "<b>x</b>"}, headers=auth)
        assert (status, json.loads(text)) == (200, {"index": 1, "criteria": {"1": 1.0, "2": 0.5, "3": 0.0},
                                                    "points": 1.5, "comment": "<b>x</b>", "stale": False})
        stored = json.loads((out / "manual_scores.json").read_text())
        assert stored["scores"]["script"]["q8"]["points"] == 1.5


def test_review_of_a_folder_without_a_gradebook_is_a_one_line_error(tmp_path):
    for args in ([], ["--apply"]):
        done = subprocess.run([CTLAB, "review", str(tmp_path), "--root", str(ROOT), *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert done.stderr.startswith(f"ctlab: error: {tmp_path / 'gradebook.csv'}: no gradebook here")
        assert done.stderr.count("\n") == 1


def test_apply_counts_only_students_with_scores(tmp_path):
    from ctlab.grading import manual_scores
    from ctlab.review.apply import apply_scores

    out = make_out(tmp_path / "out", {"a": "x", "b": "y"})
    manual_scores.merge_points(out, {"b": {"q8": 2.0}})
    summary = apply_scores(out=out, root=ROOT)
    assert (summary.applied, summary.students, summary.exports) == (1, 2, [])
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert rows[2].split(",")[8] == "2" and rows[1].split(",")[8] == ""  # a: pending, blank
