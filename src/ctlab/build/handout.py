"""What students get beside the notebooks: assignment/requirements.txt and assignment/README.md.

Both are written by `ctlab build` from pyproject.toml, so the versions a student installs are the ones
the grader runs (pandas, numpy, pyarrow, matplotlib, otter-grader, ipykernel) and JupyterLab is the
version the browser test drives. The master notebook's otter requirements (what the Gradescope image
installs) must name the same versions; the build stops when they drift apart.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import jinja2

from ctlab.errors import CtlabError

# what the student notebook imports or runs (the kernel), in the order requirements.txt lists them
KERNEL_PACKAGES = ("otter-grader", "pandas", "numpy", "pyarrow", "matplotlib", "ipykernel")
EDITOR_PACKAGE = "jupyterlab"
_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*==\s*([A-Za-z0-9_.+!-]+)\s*$")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_pins(pyproject: Path) -> dict[str, str]:
    """{normalized package name: pinned version} of pyproject.toml's dependencies, dev ones included."""
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    except FileNotFoundError:
        raise CtlabError(f"{pyproject}: missing (the pinned versions students install)") from None
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise CtlabError(f"{pyproject}: no readable [project] table ({type(exc).__name__})") from None
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    pins = {}
    for spec in specs:
        m = _PIN.match(spec)
        if m:
            pins[_name(m.group(1))] = m.group(3)
    return pins


def _pinned(pins: dict[str, str], names: tuple[str, ...], pyproject: Path) -> list[tuple[str, str]]:
    missing = [n for n in names if _name(n) not in pins]
    if missing:
        raise CtlabError(f"{pyproject}: {', '.join(missing)} must be pinned with == (students install that version)")
    return [(n, pins[_name(n)]) for n in names]


def check_master_requirements(requirements: list[str], pins: dict[str, str], *, where: str) -> None:
    """The master's otter requirements (the Gradescope image) must pin pyproject.toml's versions."""
    for spec in requirements:
        m = _PIN.match(str(spec))
        if not m:
            raise CtlabError(f"{where}: requirement {spec!r} is not pinned with ==")
        want = pins.get(_name(m.group(1)))
        if want != m.group(3):
            raise CtlabError(f"{where}: requirement {spec} differs from pyproject.toml ({m.group(1)}=={want})")


def requirements_txt(*, pyproject: Path) -> bytes:
    """assignment/requirements.txt: the kernel's packages at the grader's versions."""
    pins = project_pins(pyproject)
    lines = [
        "# Scenario 03B: the packages the notebook needs, at the versions the grader runs.",
        "# Written by `ctlab build` from the grader's pyproject.toml; see README.md.",
        *(f"{name}=={version}" for name, version in _pinned(pins, KERNEL_PACKAGES, pyproject)),
    ]
    return ("\n".join(lines) + "\n").encode()


def readme(*, pyproject: Path, python: str, student_id: str, variants: int) -> bytes:
    """assignment/README.md: set up (venv + pip, conda, JupyterHub), open, the student id, submit.
    `student_id` says what students type (the build setting); `variants` how many weeks there are."""
    pins = project_pins(pyproject)
    [(editor, editor_version)] = _pinned(pins, (EDITOR_PACKAGE,), pyproject)
    template = resources.files("ctlab").joinpath("templates", "student_readme.md").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    text = env.from_string(template).render(
        python=python,
        packages=_pinned(pins, KERNEL_PACKAGES, pyproject),
        jupyterlab=f"{editor}=={editor_version}",
        student_id=student_id,
        variants=variants,
    )
    return text.encode()
