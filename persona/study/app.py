"""The annotators' web app: a personal link, the instructions, one question at a time, a completion code.

An annotator's token is the only thing that names their assignment; questions are addressed by position within it
(``/a/TOKEN/q/3``), so there is no id to change and land on someone else's. Admin pages sit behind a separate token.
Every form is checked here, not only in the browser; templates escape all text; bodies over ``MAX_BODY`` are
refused before they are read; pages carry a Content-Security-Policy that allows only this server's own files.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from persona.errors import PersonaError
from persona.study.card import persona_card
from persona.study.design import PROLIFIC_URL
from persona.study.store import Progress, Store

HERE = Path(__file__).parent
HOST, PORT = "127.0.0.1", 8765
PLACE_TIMEOUT = 3600.0  # seconds a Prolific place is held with no answer before it is handed to someone else
KEEP_ALIVE = 5  # seconds a connection may sit idle between requests
BODY_TIMEOUT = 10.0  # seconds between two parts of a request body
MAX_CONNECTIONS = 200  # connections and tasks served at once; more are answered 503 at once
MAX_BODY = 64 * 1024  # a justification at its longest, percent-encoded, fits many times over
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
PROLIFIC_PID = re.compile(r"[A-Za-z0-9]{1,64}")
POSITION = re.compile(r"[0-9]{1,6}")
HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    # Links carry tokens: never pass them to another site. Same-origin (not no-referrer) so the browser still says
    # where a form comes from: under no-referrer it sends `Origin: null`, which the cross-site check must refuse.
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}


class PortInUseError(PersonaError):
    """The study server's port cannot be bound (another server, or no permission)."""


class Guard:
    """ASGI middleware around the whole app (its error pages included): security headers on every response, posts
    from other sites refused, and a request body read whole before the app sees it, refused when it is over
    ``limit`` bytes or a part of it takes over ``BODY_TIMEOUT`` seconds to come."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["method"] == "POST" and not _same_site(headers):
            await _refuse(scope, receive, send, 403, "Form sent from another site.")
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _refuse(scope, receive, send, 413, f"Request body over {self.limit} bytes.")
            return
        body = bytearray()
        if length is not None or b"transfer-encoding" in headers:
            while True:
                try:
                    message = await asyncio.wait_for(receive(), BODY_TIMEOUT)
                except TimeoutError:
                    await _refuse(scope, receive, send, 408, "Request body too slow.")
                    return
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if len(body) > self.limit:
                    await _refuse(scope, receive, send, 413, f"Request body over {self.limit} bytes.")
                    return
                if not message.get("more_body", False):
                    break
        replayed = False

        async def whole() -> Message:
            nonlocal replayed
            if replayed:  # the body is in: what is left to receive is the disconnect, whenever it comes
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, whole, headed)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    await PlainTextResponse(text, status_code=status, headers=HEADERS)(scope, receive, send)


def _same_site(headers: dict[bytes, bytes]) -> bool:
    """A form post from this server's own pages: its ``Origin`` (or, without one, its ``Referer``) names this host.
    A request with neither (a script, curl) is let through: it is no cross-site form a browser was tricked into."""
    source = headers.get(b"origin") or headers.get(b"referer")
    if source is None:
        return True
    host = headers.get(b"host", b"").decode("latin-1").lower()
    parts = urlsplit(source.decode("latin-1"))
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host


def make_app(folder: Path, place_timeout: float = PLACE_TIMEOUT) -> Guard:
    """The study server for the study in ``folder``; all state is in its database, so a restart resumes it.
    ``place_timeout``: seconds a Prolific place may be held without an answer before it goes back to the pool."""
    store = Store(folder)
    design = store.design()
    admin_token = store.meta("admin_token")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["when"] = lambda stamp: f"{stamp[:19].replace('T', ' ')} UTC" if stamp else ""
    templates = Jinja2Templates(env=env)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, {"design": design, **context}, status_code=status)

    def message(request: Request, title: str, text: str, status: int) -> Response:
        return page(request, "message.html", status, title=title, text=text)

    async def assignment_of(request: Request) -> dict[str, Any] | None:
        token = request.path_params["token"]
        if not TOKEN.fullmatch(token):
            return None
        row = await run_in_threadpool(store.assignment, token)
        return dict(row) if row else None

    def not_found(request: Request) -> Response:
        return message(request, "Link not valid", "This link does not match any assignment of this study.", 404)

    def to(request: Request, token: str, where: str = "") -> Response:
        return RedirectResponse(f"/a/{token}{where}", status_code=303)

    async def home(request: Request) -> Response:
        return message(request, design.title, "Open the personal link you were given to take part.", 200)

    async def prolific(request: Request) -> Response:
        query = request.query_params
        pid, session, study = (query.get(name) for name in ("PROLIFIC_PID", "SESSION_ID", "STUDY_ID"))
        if design.entry != "prolific":
            return message(request, "Not found", "This study hands out personal links only.", 404)
        if not PROLIFIC_PID.fullmatch(pid or "") or any(
            value is not None and not PROLIFIC_PID.fullmatch(value) for value in (session, study)
        ):
            return message(request, "Missing participant id", "Open this study from its Prolific page.", 400)
        if design.prolific_study_id is not None and study != design.prolific_study_id:
            return message(request, "Another study", "This link belongs to another Prolific study.", 403)
        claim = await run_in_threadpool(store.claim, pid or "", session, study, place_timeout)
        if claim.outcome == "session":
            return message(
                request,
                "Place taken",
                "This place is held by another Prolific session. Open the study from your own Prolific page.",
                403,
            )
        if claim.token is None:
            return message(
                request, "Study full", "Every place in this study is taken. Thank you for your interest.", 410
            )
        return to(request, claim.token)

    async def entry(request: Request) -> Response:
        a = await assignment_of(request)
        if a is None:
            return not_found(request)
        if a["submitted_at"]:
            return page(request, "done.html", assignment=a)
        if not a["started_at"]:
            return page(request, "instructions.html", token=a["token"])
        progress = await run_in_threadpool(store.progress, a["id"])
        return to(request, a["token"], f"/q/{progress.open_at}" if progress.open_at else "/review")

    async def start(request: Request) -> Response:
        a = await assignment_of(request)
        if a is None:
            return not_found(request)
        await run_in_threadpool(store.start, a["id"])
        return to(request, a["token"])

    async def question(request: Request) -> Response:
        a = await assignment_of(request)
        if a is None:
            return not_found(request)
        if a["submitted_at"] or not a["started_at"]:
            return to(request, a["token"])
        progress = await run_in_threadpool(store.progress, a["id"])
        position = _position(request, progress.total)
        if position is None:
            return not_found(request)
        if progress.open_at is not None and position > progress.open_at:
            return to(request, a["token"], f"/q/{progress.open_at}")
        if request.method == "HEAD":  # link checkers and proxies: never a view, never an answer
            return Response(status_code=200)
        if request.method == "GET":
            shown = await run_in_threadpool(store.show, a["id"], position)
            return await _question_page(request, a, position, progress, shown, None, 200)
        form = await _form(request)
        if form is None:
            return message(request, "Unreadable form", "The form was not UTF-8 text, or had fields no page sends.", 400)
        choice = form.get("choice", "")
        text = form.get("justification", "").strip()
        problem = None
        if choice not in ("A", "B"):
            problem = "Pick answer A or answer B."
        elif _visible(text) < design.min_justification:
            problem = f"Say why in at least {design.min_justification} characters (spaces not counted)."
        elif len(text) > design.max_justification:
            problem = f"Keep the justification under {design.max_justification} characters."
        if problem:
            shown = await run_in_threadpool(store.show, a["id"], position)
            shown |= {"shown_choice": choice if choice in ("A", "B") else None, "justification": text}
            return await _question_page(request, a, position, progress, shown, problem, 422)
        saved = await run_in_threadpool(store.save, a["id"], position, choice, text)
        if saved.outcome == "submitted":
            return message(request, "Already submitted", "Your answers were submitted and are kept as they were.", 409)
        if saved.outcome == "ahead":
            return to(request, a["token"], f"/q/{saved.position}")
        return to(request, a["token"], f"/q/{position + 1}" if position < progress.total else "/review")

    async def _question_page(
        request: Request,
        a: dict[str, Any],
        position: int,
        progress: Progress,
        shown: dict[str, Any],
        problem: str | None,
        status: int,
    ) -> Response:
        persona = await run_in_threadpool(store.persona, a["persona_id"])
        return page(
            request,
            "question.html",
            status,
            token=a["token"],
            position=position,
            total=progress.total,
            done=progress.answered,
            can_forward=position < progress.total and (progress.open_at is None or position < progress.open_at),
            card=persona_card(persona),
            problem=problem,
            **shown,
        )

    async def review(request: Request) -> Response:
        a = await assignment_of(request)
        if a is None:
            return not_found(request)
        if a["submitted_at"] or not a["started_at"]:
            return to(request, a["token"])
        if request.method == "HEAD":  # a HEAD is never a submit
            return Response(status_code=200)
        if request.method == "GET":
            rows = await run_in_threadpool(store.review, a["id"])
            return page(request, "review.html", token=a["token"], rows=rows)
        if not await run_in_threadpool(store.submit, a["id"]):
            progress = await run_in_threadpool(store.progress, a["id"])
            return to(request, a["token"], f"/q/{progress.open_at}")
        return to(request, a["token"])

    async def admin(request: Request) -> Response:
        if not hmac.compare_digest(request.path_params["token"].encode(), admin_token.encode()):
            return not_found(request)
        rows = await run_in_threadpool(store.assignments)
        return page(request, "admin.html", rows=rows, personas=_by_persona(rows))

    routes = [
        Route("/", home),
        Route("/start", prolific),
        Route("/a/{token}", entry),
        Route("/a/{token}/start", start, methods=["POST"]),
        Route("/a/{token}/q/{position}", question, methods=["GET", "POST"]),
        Route("/a/{token}/review", review, methods=["GET", "POST"]),
        Route("/admin/{token}", admin),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    # The guard wraps the whole app, Starlette's own error handling included, so a 500 carries the headers too.
    return Guard(Starlette(routes=routes))


def _position(request: Request, total: int) -> int | None:
    """The question position in the path: ASCII digits only (``str.isdigit`` also takes "²" and "①", which ``int``
    refuses), and short, so no path value can reach ``int`` unparsed."""
    raw = request.path_params["position"]
    return int(raw) if POSITION.fullmatch(raw) and 1 <= int(raw) <= total else None


INVISIBLE = frozenset({"Cf", "Zs", "Zl", "Zp", "Cc"})  # format, space and control characters


def _visible(text: str) -> int:
    """Characters a reader sees: 25 zero-width spaces are no justification."""
    return sum(unicodedata.category(c) not in INVISIBLE for c in text)


async def _form(request: Request, max_fields: int = 8) -> dict[str, str] | None:
    """A form body read as UTF-8 (Starlette reads raw bytes as Latin-1, so a non-browser client's "héllo" became
    "hÃ©llo"); None when it is not UTF-8. The body is already capped by the guard."""
    body = await request.body()
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields, errors="strict"))
    except ValueError:  # not UTF-8 (raw or percent-encoded), or more fields than any page sends
        return None


def _by_persona(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per persona: annotators submitted, in progress and not started, and attention-check failures."""
    personas: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = personas.setdefault(
            row["persona_id"],
            {"persona_id": row["persona_id"], "submitted": 0, "in progress": 0, "not started": 0, "failed": 0},
        )
        entry[row["status"]] += 1
        entry["failed"] += bool(row["checks_failed"])
    return list(personas.values())


def serve(
    folder: Path,
    host: str = HOST,
    port: int = PORT,
    announce: Callable[[str], object] = print,
    place_timeout: float = PLACE_TIMEOUT,
) -> None:
    """Run the study server until interrupted, announcing its admin page and how annotators get in once it listens
    (a port in use is an error before anything is printed).

    Access logs are off: every annotator URL carries a token. Slow clients are bounded: a request head must arrive
    within ``limits.HEADER_TIMEOUT`` seconds and each part of a body within ``BODY_TIMEOUT``; a connection idle
    between requests closes after ``KEEP_ALIVE`` seconds; one client holds at most ``limits.PER_CLIENT``
    connections, and at most ``MAX_CONNECTIONS`` are served at once.
    """
    import socket

    import uvicorn

    app = make_app(folder, place_timeout)
    store = Store(folder)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise PortInUseError(f"cannot serve on {host}:{port}: {exc.strerror}; pick another --port") from None
    listener.listen(2048)
    base = f"http://{host}:{port}"
    announce(f"serving {folder} at {base}")
    announce(f"admin page: {base}/admin/{store.meta('admin_token')}")
    if store.design().entry == "prolific":
        announce(f"Prolific study URL: {base}{PROLIFIC_URL}")
    else:
        announce(f"annotator links: {base} followed by a path of {Path(folder) / 'links.csv'}")
    from persona.study.limits import BoundedH11Protocol

    config = uvicorn.Config(
        app,
        http=BoundedH11Protocol,
        access_log=False,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE,
        limit_concurrency=MAX_CONNECTIONS,
    )
    uvicorn.Server(config).run(sockets=[listener])
