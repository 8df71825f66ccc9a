"""The pristine data the trusted tests read: every variant's two logs and its answer key.

Laid out as `vNN/data/cloud_iam.csv`, `vNN/data/cloud_api.csv` and `vNN/data/answer_key.json`, so
the tests of a submission run in its own variant's folder and read `data/` as a student's folder has
it. The keys never reach the sandbox: the workers get only the assignment's data.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from ctlab import variants
from ctlab.errors import CtlabError

CSV_FILES = ("cloud_iam.csv", "cloud_api.csv")


def lay_out(*, data_dir: Path, keys: dict[str, dict[str, Any]], into: Path) -> Path:
    """Write every variant of `keys` under `into`, its CSVs from the assignment's `data_dir` (the
    variant's zip when there are several, else the CSVs themselves). Returns `into`."""
    data_dir, into = Path(data_dir), Path(into)
    for label, key in sorted(keys.items()):
        dest = into / label / "data"
        dest.mkdir(parents=True)
        if len(keys) == 1:
            for name in CSV_FILES:
                shutil.copyfile(data_dir / name, dest / name)
        else:
            source = data_dir / "variants" / f"{label}.zip"
            try:
                with zipfile.ZipFile(source) as zf:
                    for name in CSV_FILES:
                        (dest / name).write_bytes(zf.read(name))
            except (OSError, KeyError, zipfile.BadZipFile) as exc:
                raise CtlabError(f"{source}: not the variant's data ({exc}); run `ctlab build`") from None
        (dest / variants.KEY_FILE).write_text(json.dumps(key), encoding="utf-8")
    return into
