"""What the autograder's configuration says about showing hidden test outcomes.

Read from `<root>/autograder/otter_config.json` when present, else from the
`otter_config.json` inside the autograder zip under `<root>/autograder/`.

- `show_hidden` (otter's own key, default false): whether Gradescope shows hidden
  test results to students once grades are published.
- `hidden_feedback` (ctlab's key): how feedback files present hidden tests:
  "points" (default): per question, the points the hidden tests gave, no names or messages;
  "pass_fail": per question, whether all hidden tests passed, no points or messages;
  "withhold": nothing about hidden tests; question points count public tests only.
  When `hidden_feedback` is absent, `show_hidden: true` means "pass_fail".
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlab.errors import CtlabError

HIDDEN_MODES = ("points", "pass_fail", "withhold")
DEFAULT_HIDDEN_MODE = "points"


@dataclass(frozen=True)
class FeedbackConfig:
    hidden_mode: str = DEFAULT_HIDDEN_MODE
    show_hidden: bool = False
    source: str = "defaults"

    @property
    def gradescope_hidden_visibility(self) -> str:
        """Visibility of hidden tests in Gradescope's results.json."""
        return "after_published" if self.show_hidden else "hidden"


def _raw_config(autograder: Path) -> tuple[Any, str] | None:
    direct = autograder / "otter_config.json"
    if direct.is_file():
        try:
            return json.loads(direct.read_text(encoding="utf-8")), str(direct)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CtlabError(f"{direct}: cannot read the autograder config ({exc})") from None
    if not autograder.is_dir():
        return None
    for zpath in sorted(autograder.glob("*.zip")):
        try:
            with zipfile.ZipFile(zpath) as zf:
                if "otter_config.json" in zf.namelist():
                    return json.loads(zf.read("otter_config.json").decode("utf-8")), f"{zpath}:otter_config.json"
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CtlabError(f"{zpath}: cannot read otter_config.json from the autograder zip ({exc})") from None
    return None


def config_from_dict(raw: dict[str, Any], source: str = "config") -> FeedbackConfig:
    if not isinstance(raw, dict):
        raise CtlabError(f"{source}: the autograder config must be a JSON object")
    show_hidden = bool(raw.get("show_hidden", False))
    mode = raw.get("hidden_feedback")
    if mode is None:
        mode = "pass_fail" if show_hidden else DEFAULT_HIDDEN_MODE
    if mode not in HIDDEN_MODES:
        raise CtlabError(f"{source}: hidden_feedback must be one of {', '.join(HIDDEN_MODES)}, not {mode!r}")
    return FeedbackConfig(hidden_mode=mode, show_hidden=show_hidden, source=source)


def load_feedback_config(root: Path) -> FeedbackConfig:
    found = _raw_config(Path(root) / "autograder")
    if found is None:
        return FeedbackConfig()
    raw, source = found
    return config_from_dict(raw, source)
