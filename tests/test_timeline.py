"""plot_timeline, the student notebook's helper: several principals, a zoom window, a warning for a
name with no events, and the figure returned."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRUTH = json.loads((ROOT / "data" / "ground_truth.json").read_text())


@pytest.fixture(scope="module")
def plot_timeline():
    nb = json.loads((ROOT / "assignment" / "scenario03b.ipynb").read_text())
    source = next("".join(c["source"]) for c in nb["cells"] if "def plot_timeline" in "".join(c["source"]))
    env = {"pd": pd, "np": np, "plt": plt}
    exec(source, env)
    return env["plot_timeline"]


@pytest.fixture(scope="module")
def frames():
    out = []
    for name in ("cloud_iam", "cloud_api"):
        df = pd.read_csv(ROOT / "data" / f"{name}.csv")
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="ISO8601")
        out.append(df)
    return out


def _points(fig) -> int:
    bottom = fig.axes[1]
    return sum(len(c.get_offsets()) for c in bottom.collections if c.get_facecolors().size)


def test_several_principals_and_the_attack_night(plot_timeline, frames, capsys):
    iam, api = frames
    everyone = pd.concat([iam, api])
    intruder = [TRUTH["attacker_user"], TRUTH["role_session"]]
    fig = plot_timeline(iam, api, intruder)
    assert isinstance(fig, plt.Figure)
    assert _points(fig) == int(everyone.dropna(subset=["timestamp"])["user"].isin(intruder).sum())
    assert [t.get_text().split(" (")[0] for t in fig.axes[1].get_legend().get_texts()] == intruder
    times = [pd.Timestamp(e["time"]) for e in TRUTH["timeline"] if e["user"] in intruder]
    start, end = min(times) - pd.Timedelta(minutes=5), max(times) + pd.Timedelta(minutes=1)
    night = plot_timeline(iam, api, intruder, start=str(start.tz_localize(None)), end=str(end.tz_localize(None)))
    assert _points(night) == len(times) == len(TRUTH["timeline"]) - 1  # all the intruder's events but the new key's
    lo, hi = night.axes[1].get_xlim()
    assert hi - lo < 0.1  # days: the window, not the week
    assert capsys.readouterr().out == ""
    plt.close("all")


def test_a_name_with_no_events_is_warned_about_with_close_names(plot_timeline, frames, capsys):
    iam, api = frames
    fig = plot_timeline(iam, api, "d.whitfeld")
    assert capsys.readouterr().out == "Warning: no events of 'd.whitfeld'. Did you mean 'd.whitfield'?\n"
    assert _points(fig) == 0
    plot_timeline(iam, api, ["zzzz"])
    assert capsys.readouterr().out == "Warning: no events of 'zzzz'.\n"
    assert plot_timeline(iam.assign(timestamp="x"), api, "root") is None
    assert _points(plot_timeline(iam, api, ...)) == 0  # the unanswered `principal = ...`
    plt.close("all")
