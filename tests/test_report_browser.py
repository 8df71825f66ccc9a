"""The batch report opens from disk in a real browser (headless Chromium) and its pictures load."""

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
    assert [i["name"] for i in images] == ["score_distribution.png", "pass_rates.png"]
    for img in images:
        # figures are 7.6 x 3.4 inches at 100 dpi
        assert (img["w"], img["h"], img["complete"]) == (760, 340, True), img
