"""Report pages from Jinja2 templates (./templates): one template per output, one stylesheet.

Every value a template prints is text that may have come from a submission, so each output
format escapes it by default: HTML and SVG through safetext.html_text (autoescape; its entities
are XML's too), Markdown through safetext.markdown. A template marks the few exceptions with a
filter: `text(limit)` for a longer limit, `b64` for the pictures' bytes, `px` for a coordinate.
The stylesheet is inlined, so pages stand alone.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ctlab.safetext import html_text, markdown

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = "pages.css"


class SafeMarkdown(str):
    """Markdown already made inert (by safetext.markdown): printed as it is."""


def _html(value: object) -> Markup:
    return value if isinstance(value, Markup) else Markup(html_text(value))


def _markdown(value: object) -> str:
    return value if isinstance(value, SafeMarkdown) else markdown(value)


def _px(value: float) -> str:
    """A coordinate with at most two decimals ("12.5", not "12.500000000000002")."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _env(*, html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, autoescape=html,
        finalize=_html if html else _markdown, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    if html:
        env.filters["text"] = lambda value, limit: Markup(html_text(value, limit=limit))
        env.filters["b64"] = lambda data: Markup(base64.b64encode(data).decode("ascii"))
        env.filters["px"] = _px
        env.globals["stylesheet"] = Markup((TEMPLATES / STYLESHEET).read_text(encoding="utf-8").strip())
    else:
        env.filters["text"] = lambda value, limit: SafeMarkdown(markdown(value, limit=limit))
    return env


@cache
def _environment(html: bool) -> jinja2.Environment:
    return _env(html=html)


def render(template: str, **view: Any) -> str:
    """Render templates/`template` (.html.j2, .svg.j2 or .md.j2) with the page's view."""
    return _environment(template.endswith((".html.j2", ".svg.j2"))).get_template(template).render(**view)


def template_files() -> list[Path]:
    """Every file the pages are made from, for the reports' inputs key."""
    return sorted(p for p in TEMPLATES.rglob("*") if p.is_file())
