"""The Gradescope autograder zip, made at build time.

`ctlab build` puts `gradescope_entries(project=...)` into the otter autograder zip:
  run_autograder, setup.sh             (replacing otter's; from templates/gradescope/*.sh.j2)
  ctlab-src/                           this package's source (pyproject.toml with pinned deps)
beside what otter assign wrote there: tests/q*.py (public and hidden), files/data/*.csv and
otter_config.json. On Gradescope, run_autograder runs `python -m ctlab.gradescope`, which grades
one submission (see ctlab.gradescope). Kept apart from that runtime so that building the zip
needs neither the grader nor the reports.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import jinja2

from ctlab import atomic
from ctlab.errors import CtlabError

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SOURCE_DIR = "ctlab-src"
RUNTIME_MODULE = "ctlab.gradescope"
TEMPLATES = Path(__file__).parents[1] / "templates" / "gradescope"
SCRIPTS = {"run_autograder": "run_autograder.sh.j2", "setup.sh": "setup.sh.j2"}  # zip path: template
# Stand-in for README.md inside the zip: pip needs the file, and the real one would make the
# committed zip stale on every documentation edit.
SOURCE_README = b"# ctlab\n\nThe Scenario 03B grading engine, as shipped inside the autograder zip.\n"
# Making the exercise's data is no part of grading it; leaving it out keeps the zip stable
# while that code changes.
UNSHIPPED = {"data"}
SOURCE_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".md", ".sh", ".css", ".html", ".js", ".txt", ".toml", ".j2"}


def _scripts() -> dict[str, bytes]:
    """The two Gradescope scripts, rendered from their templates (shell, so nothing is escaped)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    values = {"runtime_module": RUNTIME_MODULE, "source_dir": SOURCE_DIR}
    return {name: env.get_template(template).render(values).encode() for name, template in SCRIPTS.items()}


def gradescope_entries(*, project: Path) -> dict[str, bytes]:
    """What the autograder zip needs beside otter's files, by zip path: the two Gradescope
    scripts and this package's source, so Gradescope grades with the same engine."""
    project = Path(project)
    pkg = project / "src" / "ctlab"
    if not (project / "pyproject.toml").is_file() or not pkg.is_dir():
        raise CtlabError(f"{project}: no pyproject.toml and src/ctlab here to ship to Gradescope")
    files = {
        **_scripts(),
        f"{SOURCE_DIR}/pyproject.toml": (project / "pyproject.toml").read_bytes(),
        f"{SOURCE_DIR}/README.md": SOURCE_README,
    }
    for path in sorted(pkg.rglob("*")):
        rel = path.relative_to(pkg)
        if rel.parts[0] in UNSHIPPED or "__pycache__" in rel.parts:
            continue
        if path.is_file() and path.suffix in SOURCE_SUFFIXES:
            files[f"{SOURCE_DIR}/{path.relative_to(project).as_posix()}"] = path.read_bytes()
    return files


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip of `entries` that is the same bytes for the same entries: sorted names, fixed dates
    and modes (scripts executable)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3
            executable = name in SCRIPTS or name.endswith(".sh")
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name], compresslevel=9)
    return buf.getvalue()


def add_gradescope_files(zip_path: Path, *, project: Path) -> Path:
    """Rewrite an autograder zip in place with `gradescope_entries` added (otter's two scripts
    and any older ctlab source replaced); atomic and reproducible."""
    zip_path = Path(zip_path)
    kept: dict[str, bytes] = {}
    if zip_path.exists():
        try:
            with zipfile.ZipFile(zip_path) as zf:
                kept = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
        except (OSError, zipfile.BadZipFile) as exc:
            raise CtlabError(f"{zip_path}: not a readable zip ({exc})") from None
    kept = {n: b for n, b in kept.items() if not n.startswith(SOURCE_DIR + "/")}
    atomic.write_bytes(zip_path, zip_bytes({**kept, **gradescope_entries(project=project)}), mode=0o644)
    return zip_path


def unpack_autograder(zip_path: Path, home: Path) -> Path:
    """Lay out `home` like Gradescope's /autograder: source/ (the zip), run_autograder, submission/, results/."""
    home = Path(home)
    source = home / "source"
    source.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            dest = (source / info.filename).resolve()
            if not str(dest).startswith(str(source.resolve()) + os.sep):
                raise CtlabError(f"{zip_path}: entry {info.filename} escapes the folder")
            zf.extract(info, source)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(dest, mode)
    shutil.copy2(source / "run_autograder", home / "run_autograder")
    (home / "submission").mkdir(exist_ok=True)
    (home / "results").mkdir(exist_ok=True)
    return home
