"""The right answers the report compares wrong answers against.

They are what the help notebook's reveal code (solutions/hints.yaml, which the tests accept as a
full-marks answer) computes on the CSVs the tests read: `<root>/assignment/data/` or, failing that,
`<root>/data/` (the same files). Data flows one way: the CSVs and the grading outputs go in, the report
comes out; nothing here grades or writes back.
"""

from __future__ import annotations

from pathlib import Path

from ctlab.contract import MANUAL_QUESTIONS


def find_data_dir(root: Path) -> Path | None:
    for candidate in (Path(root) / "assignment" / "data", Path(root) / "data"):
        if (candidate / "cloud_iam.csv").is_file() and (candidate / "cloud_api.csv").is_file():
            return candidate
    return None


def variant_references(root: Path, wanted: set[int], *, hints: Path) -> dict[int, dict[str, object]]:
    """{variant: reference answers} computed once each on that variant's logs (from its zip in
    assignment/data/variants/), for the variants of `wanted` that the build ships."""
    import tempfile
    import zipfile

    found: dict[int, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="ctlab-ref-") as tmp:
        for v in sorted(wanted):
            source = Path(root) / "assignment" / "data" / "variants" / f"v{v:02d}.zip"
            if not source.is_file():
                continue
            folder = Path(tmp) / source.stem
            folder.mkdir()
            with zipfile.ZipFile(source) as zf:
                for name in ("cloud_iam.csv", "cloud_api.csv"):
                    (folder / name).write_bytes(zf.read(name))
            found[v] = reference_answers(folder, hints=hints)
    return found


def reference_answers(data_dir: Path, *, hints: Path) -> dict[str, object]:
    """The contract's variables of the help notebook's auto-graded parts (1-7) as their reveal code
    computes them on `data_dir`; `hints` is the project's solutions/hints.yaml."""
    from ctlab.reveal import part_questions, run_reveals  # nbformat and yaml: only when computed
    questions = [q for q in part_questions(hints) if q not in MANUAL_QUESTIONS]
    return run_reveals(hints=hints, data_dir=Path(data_dir), questions=questions)
