"""matplotlib's font list for the workers (ctlab.grading.fontcache): built once, for the fonts a
worker sees and not the grader's own, kept under the user's cache folder, and used by a real
worker in bubblewrap and in the fallback mode (its zygote then reports the step `font_list`)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib
import pytest

from ctlab.grading import fontcache, sandbox

VISIBLE = tuple(os.path.realpath(p) for p in ("/usr", sys.prefix, sys.base_prefix))  # what a worker is shown


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder, and a home that holds a font of the grader's own."""
    home = tmp_path / "home"
    (home / ".fonts").mkdir(parents=True)
    shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSerif.ttf", home / ".fonts" / "Mine.ttf")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fontcache._key_dir.cache_clear()
    yield tmp_path / "cache"
    fontcache._key_dir.cache_clear()


def test_the_font_list_is_built_once_for_the_fonts_a_worker_sees(cache: Path) -> None:
    assert fontcache.font_list() is None
    built = fontcache.build_font_list()
    assert built is not None and built.is_relative_to(cache / "ctlab") and fontcache.NAME.fullmatch(built.name)
    # matplotlib's own fonts are named relative to its data folder
    fonts = [os.path.realpath(os.path.join(matplotlib.get_data_path(), f["fname"]))
             for f in json.loads(built.read_text(encoding="utf-8"))["ttflist"]]
    assert any(os.path.basename(f) == "DejaVuSans.ttf" for f in fonts)
    assert [f for f in fonts if not f.startswith(VISIBLE)] == []  # not the home's Mine.ttf
    before = built.stat().st_mtime_ns
    assert fontcache.build_font_list() == built and built.stat().st_mtime_ns == before  # kept, not built again
    assert fontcache.font_list() == built
    assert [p.name for p in (cache / "ctlab").iterdir()] == [built.parent.name]  # no half-written leftovers


def _zygote_steps(mode: str) -> dict[str, float]:
    """The set-up steps of a real worker's zygote, after a job that draws a figure ran on it."""
    run = Path(tempfile.mkdtemp(prefix="ctlab-test-fonts-"))  # the fallback's uid must pass through it
    os.chmod(run, 0o711)
    data = run / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n", encoding="utf-8")
    w = sandbox.Worker(0, mode, run, data)
    try:
        w.start()
        job = w.run(["import matplotlib.pyplot as plt\nfig = plt.figure()\nx = 1"], ["x"], 60, 1024)
        assert job.reply.get("exit_code") == 0, job.reply
        return w.took
    finally:
        w.close()
        shutil.rmtree(run, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bwrap", "user"])
def test_a_worker_starts_from_the_kept_font_list_and_scans_without_one(cache: Path, mode: str) -> None:
    if mode == "bwrap" and sandbox.probe("bwrap") is not None:
        pytest.skip("bubblewrap cannot run here")
    if mode == "user" and os.geteuid() != 0:
        pytest.skip("the fallback mode needs root")
    assert "font_list" not in _zygote_steps(mode)  # none kept: the zygote scans the fonts
    assert fontcache.build_font_list() is not None
    steps = _zygote_steps(mode)
    assert "font_list" in steps and "preload" in steps
