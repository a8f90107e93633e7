"""Classroom sign-in at the HTTP layer: a sign-in page, sign-out, and a gate in front of the whole app.

Streamlit's script cannot set a cookie, so a session kept in `st.session_state` would be lost at every
reload. Instead the app is served as an `st.App` (serve.py) with these Starlette routes: `/signin` checks
the name and password and sets an HttpOnly cookie holding a random session token; `SignInRequired`
sends every page request without a live session to `/signin` and refuses the app's WebSocket, so no
script runs for a browser that has not signed in. The pages read the same cookie (`st.context.cookies`)
to know who is acting. Nothing here is used on a laptop: `make run` serves app.py directly.

Everything a browser can send before signing in is bounded: the sign-in form's body (size, fields, time
to arrive), the password checks running at once, and the wait for one. An open page's WebSocket is
closed the moment its session ends (core/web/live_sockets.py). A store that cannot be read is a plain
page naming the file and the fix, never a bare 500.
"""
from __future__ import annotations

import asyncio
import html
import time
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request, cookie_parser
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core.domain.people import AccountError
from core.services import accounts
from core.settings import load_settings
from core.store.schema import StoreError
from core.web import live_sockets

COOKIE = "trainlab_session"
KNOWN_BROWSER_COOKIE = "trainlab_known"  # a browser that signed in as a name before (core/services/accounts.py)
KNOWN_BROWSER_DAYS = 365
MAX_FORM_BYTES = 4096  # a name, a password and a path: a form of more is not a sign-in
MAX_FORM_FIELDS = 8
FORM_SECONDS = 10.0  # a body still arriving after this is dropped (a slow sender holds a connection)
CHECKS_AT_ONCE = 2  # argon2 takes ~64 MiB and tens of ms of CPU per check: more wait their turn...
CHECK_QUEUE_SECONDS = 10.0  # ...but not for longer than this
_checks: dict[str, asyncio.Semaphore] = {}
# Reachable without signing in: the sign-in page itself, health checks, and Streamlit's public frontend
# files (JavaScript, CSS, icons: the same for every Streamlit app, nothing of the lab's).
OPEN_PATHS = ("/signin", "/signout", "/_stcore/health", "/favicon.png", "/manifest.json")
# The API for students' scripts and its client are open too: each request carries a student's key instead.
OPEN_PREFIXES = ("/static/", "/api/track/", "/client/")
FAILED_SIGN_IN_PAUSE = 0.5  # every wrong password costs the browser this much before the answer
_gate = {"active": False}  # set once the gate is in front of the app (this process serves serve.py)


def gate_active() -> bool:
    """Whether this process serves the app behind the sign-in gate (serve.py), not app.py on its own."""
    return _gate["active"]


def _cookie_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    # Starlette's lenient parser, as the pages' own: Python's SimpleCookie stops at the first cookie it does not
    # like (another app's `x[0]=1` on the same host), and the session cookie after it would go unseen.
    for key, value in headers:
        if key == b"cookie":
            found = cookie_parser(value.decode("latin-1")).get(COOKIE)
            if found:
                return found
    return None


def _from_elsewhere(request: Request) -> bool:
    """Whether a browser sent this form from another site's page (its Origin, or else its Referer, names another
    host): a forged sign-in would record a student's work under someone else's name."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return bool(source)  # no header: not a browser's cross-site form (curl, scripts); "null": opaque, refused
    return urlsplit(source).netloc.lower() != request.headers.get("host", "").lower()


async def _live(token_hashes: set[str]) -> set[str]:
    return await asyncio.to_thread(accounts.live_sessions, token_hashes)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never another site)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


class SignInRequired:
    """ASGI middleware: requests without a live session go to the sign-in page (pages) or are refused."""

    def __init__(self, app):
        self.app = app
        _gate["active"] = True

    async def __call__(self, scope, receive, send):
        """Pass the request on if the gate is off, the path is open or the session is live; else refuse."""
        if scope["type"] not in ("http", "websocket") or not load_settings().classroom:
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return await self.app(scope, receive, send)
        token = _cookie_token(scope.get("headers", []))
        try:
            # Off the event loop: a PostgreSQL store may take seconds to answer, and other browsers wait meanwhile.
            actor = await asyncio.to_thread(accounts.actor_for, token) if token else None
        except StoreError as exc:
            return await _store_unusable(scope, receive, send, exc)
        if actor is not None and scope["type"] == "websocket":  # closed the moment its session ends
            return await live_sockets.serve(self.app, scope, receive, send, accounts.token_hash(token), _live)
        if actor is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # an expired or signed-out browser: the page reloads to sign in
            return await send({"type": "websocket.close", "code": live_sockets.CLOSE_POLICY})
        query = scope.get("query_string", b"").decode("latin-1")
        wanted = path + (f"?{query}" if query else "")
        if scope.get("method") == "GET":
            response: Response = RedirectResponse(f"/signin?next={quote(wanted, safe='')}", status_code=303)
        else:
            response = PlainTextResponse("sign in first: /signin", status_code=401)
        await response(scope, receive, send)


async def _store_unusable(scope, receive, send, exc: StoreError) -> None:
    """The store cannot be read: the WebSocket is refused, a page says which file and what to do."""
    if scope["type"] == "websocket":
        return await send({"type": "websocket.close", "code": 1011})
    await _store_page(exc)(scope, receive, send)


def _store_page(exc: StoreError) -> HTMLResponse:
    body = (f'<h1>Train Lab cannot open its run store</h1><p class="error" role="alert">{html.escape(str(exc))}</p>'
            "<p>Nothing was changed. Tell the teacher: the fix is on the server (README: Backing up).</p>")
    return HTMLResponse(PLAIN_HTML.format(title="Run store unusable", body=body), status_code=503,
                        headers={"Cache-Control": "no-store", "Retry-After": "30"})


def _plain(status: int, message: str) -> HTMLResponse:
    """A short page for a refused request (too large, too slow, busy)."""
    return HTMLResponse(PLAIN_HTML.format(title="Sign in", body=f'<p class="error" role="alert">{html.escape(message)}'
                                          '</p><p><a href="/signin">Sign in</a></p>'),
                        status_code=status, headers={"Cache-Control": "no-store", "Connection": "close"})


class _Refused(Exception):
    def __init__(self, response: Response):
        self.response = response


async def _read_form(request: Request) -> dict[str, str]:
    """The sign-in form's fields, read within MAX_FORM_BYTES, MAX_FORM_FIELDS and FORM_SECONDS (_Refused
    with the answer otherwise: the rest of a larger body is never read)."""
    kind = request.headers.get("content-type", "application/x-www-form-urlencoded").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise _Refused(_plain(415, "The sign-in form is sent as a plain form; this request was not one."))
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise _Refused(_plain(413, f"A sign-in is at most {MAX_FORM_BYTES} bytes; this one was larger."))
    body = bytearray()

    async def read() -> None:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_FORM_BYTES:
                raise _Refused(_plain(413, f"A sign-in is at most {MAX_FORM_BYTES} bytes; this one was larger."))

    try:
        await asyncio.wait_for(read(), FORM_SECONDS)
    except TimeoutError:
        raise _Refused(_plain(408, "The sign-in form took too long to arrive; try again.")) from None
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise _Refused(_plain(400, "The sign-in form had too many fields.")) from None
    return {k: v[0][:MAX_FORM_BYTES] for k, v in fields.items()}


async def _checked(name: str, password: str, computer: str, known: str) -> accounts.SignIn:
    """The password check, CHECKS_AT_ONCE at a time (argon2 is costly by design), off the event loop."""
    loop_key = str(id(asyncio.get_running_loop()))
    checks = _checks.setdefault(loop_key, asyncio.Semaphore(CHECKS_AT_ONCE))
    try:
        await asyncio.wait_for(checks.acquire(), CHECK_QUEUE_SECONDS)
    except TimeoutError:
        raise _Refused(_plain(503, "Many people are signing in at once; try again in a few seconds.")) from None
    try:
        return await asyncio.to_thread(accounts.sign_in, name, password, computer=computer, known_browser=known)
    finally:
        checks.release()


def _page(message: str = "", name: str = "", target: str = "/", notice: str = "") -> HTMLResponse:
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    note += f'<p class="notice" role="status">{html.escape(notice)}</p>' if notice else ""
    return HTMLResponse(SIGNIN_HTML.format(note=note, name=html.escape(name, quote=True),
                                           next=html.escape(target, quote=True)),
                        status_code=200 if not message else 401, headers={"Cache-Control": "no-store"})


async def signin(request: Request) -> Response:
    """GET: the sign-in form. POST: check the password; on success set the cookie and go where asked."""
    if request.method == "GET":
        notice = "You have signed out." if "signed-out" in request.query_params else ""
        return _page(target=safe_next(request.query_params.get("next")), notice=notice)
    if _from_elsewhere(request):
        return _plain(403, "This sign-in came from another site's page; open Train Lab's own page to sign in.")
    try:
        form = await _read_form(request)
        name, password, target = form.get("name", "")[:100], form.get("password", ""), safe_next(form.get("next"))
        done = await _checked(name, password, request.client.host if request.client else "",
                              request.cookies.get(KNOWN_BROWSER_COOKIE, ""))
    except _Refused as refused:
        return refused.response
    except StoreError as exc:
        return _store_page(exc)
    except AccountError as exc:
        await asyncio.sleep(FAILED_SIGN_IN_PAUSE)
        return _page(str(exc).removeprefix("sign-in: ").capitalize() + ".", name, target)
    response = RedirectResponse(target, status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, done.token, max_age=max(1, int(done.expires_at - time.time())), httponly=True,
                        samesite="lax", secure=secure, path="/")
    response.set_cookie(KNOWN_BROWSER_COOKIE, done.known_browser, max_age=KNOWN_BROWSER_DAYS * 86400, httponly=True,
                        samesite="lax", secure=secure, path="/signin")
    return response


async def signout(request: Request) -> Response:
    """GET: a page asking to confirm (a link on another site must not sign anyone out). POST: end this browser's
    session, close its open pages' connections, and show the sign-in form again."""
    if request.method == "GET":
        return HTMLResponse(PLAIN_HTML.format(title="Sign out", body=SIGNOUT_FORM),
                            headers={"Cache-Control": "no-store"})
    if _from_elsewhere(request):
        return _plain(403, "This sign-out came from another site's page; sign out from Train Lab's own page.")
    token = request.cookies.get(COOKIE)
    try:
        await asyncio.to_thread(accounts.sign_out, token)
    except StoreError as exc:
        return _store_page(exc)
    if token:
        live_sockets.end(accounts.token_hash(token))
    response = RedirectResponse("/signin?signed-out", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def routes() -> list[Route]:
    """The sign-in routes to serve beside the app."""
    return [Route("/signin", signin, methods=["GET", "POST"]), Route("/signout", signout, methods=["GET", "POST"])]


SIGNOUT_FORM = """<h1>Sign out of Train Lab?</h1>
<form method="post" action="/signout"><button type="submit">Sign out</button></form>
<p><a href="/">Back to Train Lab</a></p>"""

PLAIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Train Lab</title>
<style>
  body {{ font-family: "Source Sans Pro", system-ui, sans-serif; background: #f6f7f9; color: #262730; margin: 0;
         display: flex; min-height: 100vh; align-items: center; justify-content: center; }}
  main {{ background: #fff; padding: 2rem 2.25rem; border-radius: 0.75rem; width: min(36rem, 90vw);
         box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); overflow-wrap: anywhere; }}
  h1 {{ font-size: 1.5rem; margin: 0 0 1rem; }}
  .error {{ background: #fdecea; color: #8a1c14; padding: 0.55rem 0.7rem; border-radius: 0.4rem; }}
  button {{ padding: 0.6rem 1.4rem; font-size: 1rem; border: 0; border-radius: 0.4rem; background: #ff4b4b;
           color: #fff; cursor: pointer; margin: 0 0 1rem; }}
</style></head>
<body><main>{body}</main></body></html>
"""

SIGNIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Train Lab</title>
<style>
  body {{ font-family: "Source Sans Pro", system-ui, sans-serif; background: #f6f7f9; color: #262730; margin: 0;
         display: flex; min-height: 100vh; align-items: center; justify-content: center; }}
  main {{ background: #fff; padding: 2rem 2.25rem; border-radius: 0.75rem; width: min(22rem, 90vw);
         box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }}
  h1 {{ font-size: 1.6rem; margin: 0 0 0.25rem; }}
  p.lead {{ margin: 0 0 1.25rem; color: #5f6368; }}
  label {{ display: block; font-size: 0.9rem; margin: 0.75rem 0 0.25rem; }}
  input {{ width: 100%; box-sizing: border-box; padding: 0.55rem 0.65rem; font-size: 1rem;
          border: 1px solid #c8cbd0; border-radius: 0.4rem; }}
  button {{ margin-top: 1.25rem; width: 100%; padding: 0.6rem; font-size: 1rem; border: 0; border-radius: 0.4rem;
           background: #ff4b4b; color: #fff; cursor: pointer; }}
  .error {{ background: #fdecea; color: #8a1c14; padding: 0.55rem 0.7rem; border-radius: 0.4rem; margin: 0 0 0.5rem; }}
  .notice {{ background: #e8f4ea; color: #1e5a2b; padding: 0.55rem 0.7rem; border-radius: 0.4rem; margin: 0 0 0.5rem; }}
</style></head>
<body><main>
<h1>Train Lab</h1><p class="lead">Sign in with the name and password your teacher gave you.</p>
{note}
<form method="post" action="/signin">
  <input type="hidden" name="next" value="{next}">
  <label for="name">User name</label>
  <input id="name" name="name" autocomplete="username" autocapitalize="none" required autofocus value="{name}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
</main></body></html>
"""
