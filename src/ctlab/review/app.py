"""The review page's web application (Starlette, Jinja2 templates from ./templates).

Every request must carry the token printed with the URL (query `token` or header `X-Review-Token`),
compared in constant time; the Host header must be the loopback address, so another site cannot
reach the page through DNS rebinding. Summaries reach the page as JSON inside the template
(`tojson` escapes `<`, `>` and `&`) and are put on it as text, never as markup.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ctlab.errors import CtlabError
from ctlab.grading import manual_scores as hand_scores

from .batch import QUESTION, Batch, own_code_of

TEMPLATES = Path(__file__).parent / "templates"


def page_data(batch: Batch) -> dict[str, Any]:
    """The page's whole state as JSON: the facts are listed once per variant (each variant's key has facts
    of its own, and may have more or fewer of them), each student carries its variant and which it names."""
    store = hand_scores.read(batch.out)
    facts: dict[str, list[dict[str, str]]] = {}
    for s in batch.students:
        if s.evidence:
            facts.setdefault(str(s.variant), [{"id": f.id, "label": f.label, "criterion": f.criterion,
                                               "expected": f.expected} for f in s.evidence.facts])
    students = []
    for s in batch.students:
        score = store.get(s.name, {}).get(QUESTION) or (store.get(s.stored_key, {}).get(QUESTION) if s.stored_key else None)
        ev = s.evidence
        students.append({
            "file": s.file, "label": s.label, "id": s.lms_id, "status": s.status, "flag": s.flag, "summary": s.summary,
            "note": s.note, "variant": s.variant,
            "present": [f.present for f in ev.facts] if ev else None,
            "suggested": ev.suggested if ev else {}, "why": ev.why if ev else {},
            "others": list(ev.other_values) if ev else [],
            "criteria": dict(score.criteria) if score else {},
            "points": score.points if score else None,
            "comment": score.comment if score else "",
            "stale": bool(score and score.stale(s.answer_hash)),
            "pairs": s.pairs,
        })
    return {
        "question": QUESTION,
        "criteria": [{"id": c.id, "title": c.title, "points": c.points, "step": c.step, "text": c.text}
                     for c in batch.criteria],
        "facts": facts,
        "key_note": batch.key_note,
        "students": students,
        "pairs": [{"kind": p.kind, "a": p.a, "b": p.b, "score": p.score} for p in batch.pairs],
        "superseded": batch.superseded,
    }


def create_app(*, batch: Batch, token: str) -> Starlette:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    templates = Jinja2Templates(env=env)
    expected = token.encode()
    crit_ids = [c.id for c in batch.criteria]
    crit_max = {c.id: (c.points, c.step) for c in batch.criteria}

    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "review.html", {"data": page_data(batch), "token": token},
                                          headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def _student(index: object) -> int:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(batch.students):
            raise ValueError("no such student")
        return index

    async def score(request: Request) -> Response:
        try:
            body = await request.json()
            i = _student(body.get("index"))
            crit = body.get("criteria") or {}
            comment = body.get("comment")
            if not isinstance(crit, dict) or not (comment is None or isinstance(comment, str)):
                raise ValueError("criteria must be an object and comment text")
            for c, v in crit.items():
                top, step = crit_max.get(c, (None, None))
                if top is None or step is None or isinstance(v, bool) or not isinstance(v, (int, float)) \
                        or not 0 <= v <= top or abs(v / step - round(v / step)) > 1e-9:
                    raise ValueError(f"criterion {c}: {v!r} is not a score it allows")
            s = batch.students[i]
            saved = hand_scores.set_score(batch.out, key=s.name, question=QUESTION, criteria=crit,
                                          comment=comment, all_criteria=crit_ids, answer_hash=s.answer_hash)
        except (ValueError, AttributeError, CtlabError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"index": i, "criteria": saved.criteria, "points": saved.points,
                             "comment": saved.comment, "stale": saved.stale(s.answer_hash)})

    async def code(request: Request) -> Response:
        try:
            i = _student(int(request.query_params.get("index", "-1")))
        except ValueError:
            return JSONResponse({"error": "no such student"}, status_code=400)
        return JSONResponse({"index": i, "code": own_code_of(batch, i)})

    async def check_token(request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.query_params.get("token") or request.headers.get("x-review-token") or ""
        if not hmac.compare_digest(given.encode(), expected):
            return PlainTextResponse("forbidden: open the URL ctlab review printed", status_code=403)
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        return response

    return Starlette(
        routes=[Route("/", page), Route("/api/score", score, methods=["PUT"]), Route("/api/code", code)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]),
                    Middleware(BaseHTTPMiddleware, dispatch=check_token)],
    )
