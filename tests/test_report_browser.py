"""The batch report opens from disk in a real browser (headless Chromium), its pictures load, and
no text of a chart leaves the picture or runs into another as Chromium lays it out."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ctlab.report import write_reports
from ctlab.reveal import PROJECT_HINTS

FIXTURES = Path(__file__).parent / "fixtures" / "report"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PROBE = """
<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('img').forEach(function (img) {
    out.push({name: img.getAttribute('data-name'), w: img.naturalWidth, h: img.naturalHeight,
              complete: img.complete});
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed (make sysdeps installs the Debian package); CI never skips")
def test_report_pictures_load_in_chromium(tmp_path):
    spec = importlib.util.spec_from_file_location("report_synth", FIXTURES / "synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    out = tmp_path / "out"
    synth.build(out, FIXTURES / "root")
    write_reports(out=out, root=FIXTURES / "root", hints=PROJECT_HINTS)
    page = (out / "report.html").read_text()
    # the probe goes into a copy in another folder: the report must not need anything beside it
    probe_dir = tmp_path / "elsewhere"
    probe_dir.mkdir()
    probed = probe_dir / "report.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
        probed.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=50)
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"no probe output; chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    images = json.loads(match.group(1).replace("&quot;", '"'))
    assert [i["name"] for i in images] == ["score_distribution.svg", "pass_rates.svg"]
    for img in images:
        assert (img["w"], img["h"], img["complete"]) == (760, 340, True), img  # the SVGs' own size


TEXT_PROBE = """
<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('svg').forEach(function (svg, chart) {
    var origin = svg.getBoundingClientRect();
    svg.querySelectorAll('g.panel').forEach(function (panel, n) {
      panel.querySelectorAll('text').forEach(function (t) {
        var b = t.getBoundingClientRect();
        out.push({chart: chart, panel: n, kind: t.getAttribute('class'), text: t.textContent,
                  x0: b.left - origin.left, x1: b.right - origin.left, y0: b.top - origin.top,
                  y1: b.bottom - origin.top});
      });
    });
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def _overlap(a: dict, b: dict) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


def _crowded_class():
    """Every question of the scenario, long points, a four-digit class: the longest texts a chart shows."""
    from ctlab.grading.results import Graded
    from ctlab.report.batch_report import compute_stats

    maxima = {f"q{i}": 2.5 for i in range(1, 13)}
    subs = [Graded(file=f"s{n}.ipynb", name=f"s{n}", status="ok", runtime_s=1.0,
                   points={q: (n % 5) * 0.625 for q in maxima}, max_points=maxima, total=0.0, percent=0.0,
                   has_results=True) for n in range(1000)]
    stats = compute_stats(subs, maxima, 1000)
    stats.required_percents = [n % 101 / 1.0 for n in range(1000)]
    stats.extra_points = [round((n % 31) * 0.25, 2) % 7.5 for n in range(5)] + [2.5] * 995
    return stats


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed (make sysdeps installs the Debian package); CI never skips")
def test_no_chart_text_leaves_the_picture_or_overlaps_another(tmp_path):
    from ctlab.report import charts

    stats = _crowded_class()
    svgs = [charts.render(charts.score_chart(stats)), charts.render(charts.pass_rate_chart(stats))]
    page = tmp_path / "charts.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}svg{display:block}'
                    "</style></head><body>" + "".join(svgs) + TEXT_PROBE + "</body></html>")
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1000", "--virtual-time-budget=5000",
        "--dump-dom", page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=50)
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"no probe output; chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    texts = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    titles = [t["text"] for t in texts if t["kind"] == "title"]
    assert titles == ["Score distribution (1000 submissions)", "Extra credit", "Required questions", "Extra credit"]
    assert len([t for t in texts if t["kind"] == "value"]) == 12  # a "NN%" over each question's bar
    for t in texts:
        assert 0 <= t["x0"] and t["x1"] <= 760 and 0 <= t["y0"] and t["y1"] <= 340, t
        assert t["x1"] - t["x0"] > 3, t  # laid out with a real font
        clash = [u for u in texts if u is not t and u["chart"] == t["chart"] and _overlap(t, u)]
        assert not clash, (t, clash)
