"""Every student their own incident: which variant of the week a student investigates.

A course has N variants (`ctlab build --variants N`). Variant k (1..N) is the week
`ctlab.data.dataset.build_data` makes from `seed_of(k)`; variant 1 is `data/` itself, the course
seed. A student types an id into the notebook's `STUDENT_ID` cell; the variant is a stable hash of
that id, normalised (surrounding spaces and letter case ignored), so the student, `ctlab variant`
and the grader all get the same one without a list of students.

What ships where (N > 1): students get every variant's two CSVs, compressed, as
`assignment/data/variants/vNN.zip`, and the set-up cell (`setup_code`) unpacks theirs over
`data/cloud_iam.csv` and `data/cloud_api.csv`; the grader gets each variant's answer key in
`autograder/answer_keys.json`. The instructor's copies (with the full ground truth) are under
`data/variants/vNN/`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlab.errors import CtlabError

ID_VARIABLE = "STUDENT_ID"
DEFAULT_ID_WORDS = "the email address your course's LMS has for you"
MAX_ID_LENGTH = 200
SHIPPED = Path("assignment") / "data" / "variants"  # vNN.zip: the two CSVs, for students and phase 1
STORED = Path("data") / "variants"  # vNN/: data.zip, ground_truth.json, origin.json (instructors)
ANSWER_KEYS = Path("autograder") / "answer_keys.json"  # {vNN: the hidden tests' key}
KEY_FILE = "answer_key.json"  # in data/: where the hidden tests read their variant's key (never shipped)
MANIFEST = Path("autograder") / "manifest.json"
DATA_ZIP = "data.zip"
TRUTH = "ground_truth.json"
SEED_STEP = 7919  # variant k's seed is the course seed plus (k-1) steps: far apart, never repeating


class BadStudentId(CtlabError):
    """A STUDENT_ID that cannot choose a variant (blank, too long, spaces or control characters inside)."""


def normalise(student_id: str) -> str:
    """The id as the variant is chosen from it: surrounding spaces dropped, lower case."""
    return student_id.strip().lower()


def problem_with(student_id: object) -> str:
    """Why `student_id` cannot choose a variant, in words; empty when it can."""
    if not isinstance(student_id, str):
        return f"{ID_VARIABLE} should be text in quotes, not {type(student_id).__name__}"
    norm = normalise(student_id)
    if not norm:
        return f"{ID_VARIABLE} is blank"
    if len(norm) > MAX_ID_LENGTH:
        return f"{ID_VARIABLE} is {len(norm)} characters long (at most {MAX_ID_LENGTH})"
    if any(c.isspace() or not c.isprintable() for c in norm):
        return f"{ID_VARIABLE} holds spaces or control characters inside"
    return ""


def variant_of(student_id: str, count: int) -> int:
    """The variant (1..count) of a student id. Raises BadStudentId when the id cannot choose one."""
    problem = problem_with(student_id)
    if problem:
        raise BadStudentId(problem)
    if count < 1:
        raise CtlabError(f"a course has at least one variant, not {count}")
    digest = hashlib.sha256(normalise(student_id).encode("utf-8")).hexdigest()
    return int(digest, 16) % count + 1


def seed_of(variant: int) -> int:
    """The generator seed of a variant: the course seed for variant 1."""
    from ctlab.data.dataset import COURSE_SEED

    return COURSE_SEED + (variant - 1) * SEED_STEP


def label(variant: int) -> str:
    """`v03`: the variant's file and folder name."""
    return f"v{variant:02d}"


def setup_code(*, count: int, id_words: str) -> str:
    """The code the student notebook's set-up cell runs after its imports: check STUDENT_ID, then put
    that student's variant of the two logs at data/. Mirrors `problem_with` and `variant_of`."""
    ask = f"Set STUDENT_ID in the cell above to {id_words} (in quotes), then run this cell again."
    lines = [
        "# Your own week of logs: checks STUDENT_ID, then puts your variant at data/cloud_iam.csv and data/cloud_api.csv.",
        "import hashlib, zipfile",
        "_id = STUDENT_ID.strip().lower() if isinstance(STUDENT_ID, str) else \"\"",
        f"if not _id or len(_id) > {MAX_ID_LENGTH} or any(c.isspace() or not c.isprintable() for c in _id):",
        f"    raise ValueError({ask!r})",
        f"_variant = int(hashlib.sha256(_id.encode()).hexdigest(), 16) % {count} + 1",
    ]
    if count > 1:
        lines += ["with zipfile.ZipFile(f\"data/variants/v{_variant:02d}.zip\") as _zip:",
                  "    _zip.extractall(\"data\", members=[\"cloud_iam.csv\", \"cloud_api.csv\"])"]
    lines.append("print(f\"STUDENT_ID {_id!r}: your logs are variant {_variant} of " + str(count) + ".\")")
    return "\n".join(lines)


@dataclass(frozen=True)
class Settings:
    """What `ctlab build` recorded: how many variants, and what students are asked to type."""

    count: int = 1
    id_words: str = DEFAULT_ID_WORDS

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "student_id": self.id_words}


def recorded(root: Path) -> Settings:
    """The settings of the last build under `root` (autograder/manifest.json), or the defaults."""
    path = Path(root) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8")).get("variants")
    except (OSError, ValueError, AttributeError):
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    count, words = data.get("count"), data.get("student_id")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise CtlabError(f"{path}: variants.count should be a whole number of at least 1, not {count!r}")
    if not isinstance(words, str) or not words.strip():
        raise CtlabError(f"{path}: variants.student_id should say what students type, not {words!r}")
    return Settings(count=count, id_words=words.strip())


def answer_keys(root: Path) -> dict[str, dict[str, Any]]:
    """{vNN: hidden-test answer key} of the build under `root`; empty for tests made without variants
    (no autograder/answer_keys.json: one shared week, no STUDENT_ID asked for)."""
    path = Path(root) / ANSWER_KEYS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CtlabError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) for v in data.values()):
        raise CtlabError(f"{path}: expected an answer key per variant")
    return data


@dataclass(frozen=True)
class Lookup:
    """`ctlab variant ID`: a student's variant, where its data is and, for instructors, its key."""

    variant: int
    count: int
    data_dir: str
    answer_key: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "data_dir": self.data_dir, "answer_key": self.answer_key}

    def describe(self) -> str:
        lines = [f"variant {self.variant} of {self.count}", f"data: {self.data_dir}"]
        if self.answer_key:
            lines.append(f"answer key: {self.answer_key} (instructors only)")
        return "\n".join(lines)


def truth_path(root: Path, variant: int) -> Path:
    """Where the instructor's ground truth of a variant is (data/ground_truth.json for variant 1)."""
    return Path(root) / ("data" if variant == 1 else STORED / label(variant)) / TRUTH


def look_up(*, root: Path, student_id: str) -> Lookup:
    """The variant of `student_id` in the build under `root`."""
    root = Path(root).resolve()
    settings = recorded(root)
    variant = variant_of(student_id, settings.count)
    if variant == 1 and (root / "data" / "cloud_iam.csv").is_file():
        data_dir = root / "data"
    elif settings.count == 1:
        data_dir = root / "assignment" / "data"
    else:
        data_dir = root / STORED / label(variant)
        if not data_dir.is_dir():
            data_dir = root / SHIPPED / f"{label(variant)}.zip"
    key = truth_path(root, variant)
    return Lookup(variant=variant, count=settings.count, data_dir=str(data_dir),
                  answer_key=str(key) if key.is_file() else None)
