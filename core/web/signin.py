"""Classroom sign-in at the HTTP layer: a sign-in page, sign-out, and a gate in front of the whole app.

Streamlit's script cannot set a cookie, so a session kept in `st.session_state` would be lost at every
reload. Instead the app is served as an `st.App` (serve.py) with these Starlette routes: `/signin` checks
the name and password and sets an HttpOnly cookie holding a random session token; `SignInRequired`
sends every page request without a live session to `/signin` and refuses the app's WebSocket, so no
script runs for a browser that has not signed in. The pages read the same cookie (`st.context.cookies`)
to know who is acting. Nothing here is used on a laptop: `make run` serves app.py directly.
"""
from __future__ import annotations

import asyncio
import html
import time
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core.domain.people import AccountError
from core.services import accounts
from core.settings import load_settings

COOKIE = "trainlab_session"
# Reachable without signing in: the sign-in page itself, health checks, and Streamlit's public frontend
# files (JavaScript, CSS, icons: the same for every Streamlit app, nothing of the lab's).
OPEN_PATHS = ("/signin", "/signout", "/_stcore/health", "/favicon.png", "/manifest.json")
OPEN_PREFIXES = ("/static/",)
FAILED_SIGN_IN_PAUSE = 0.5  # every wrong password costs the browser this much before the answer
_gate = {"active": False}  # set once the gate is in front of the app (this process serves serve.py)


def gate_active() -> bool:
    """Whether this process serves the app behind the sign-in gate (serve.py), not app.py on its own."""
    return _gate["active"]


def _cookie_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is the same as none
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


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
        if accounts.actor_for(_cookie_token(scope.get("headers", []))) is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # an expired or signed-out browser: the page reloads to sign in
            return await send({"type": "websocket.close", "code": 1008})
        query = scope.get("query_string", b"").decode("latin-1")
        wanted = path + (f"?{query}" if query else "")
        if scope.get("method") == "GET":
            response: Response = RedirectResponse(f"/signin?next={quote(wanted, safe='')}", status_code=303)
        else:
            response = PlainTextResponse("sign in first: /signin", status_code=401)
        await response(scope, receive, send)


def _page(message: str = "", name: str = "", target: str = "/") -> HTMLResponse:
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(SIGNIN_HTML.format(note=note, name=html.escape(name, quote=True),
                                           next=html.escape(target, quote=True)),
                        status_code=200 if not message else 401, headers={"Cache-Control": "no-store"})


async def signin(request: Request) -> Response:
    """GET: the sign-in form. POST: check the password; on success set the cookie and go where asked."""
    if request.method == "GET":
        return _page(target=safe_next(request.query_params.get("next")))
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    name, password, target = form.get("name", ""), form.get("password", ""), safe_next(form.get("next"))
    try:
        # argon2 takes tens of milliseconds of CPU: off the event loop, so other browsers are not held up.
        done = await asyncio.to_thread(accounts.sign_in, name, password)
    except AccountError as exc:
        await asyncio.sleep(FAILED_SIGN_IN_PAUSE)
        return _page(str(exc).removeprefix("sign-in: ").capitalize() + ".", name, target)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, done.token, max_age=max(1, int(done.expires_at - time.time())), httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    return response


async def signout(request: Request) -> Response:
    """End this browser's session and show the sign-in form again."""
    await asyncio.to_thread(accounts.sign_out, request.cookies.get(COOKIE))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def routes() -> list[Route]:
    """The sign-in routes to serve beside the app."""
    return [Route("/signin", signin, methods=["GET", "POST"]), Route("/signout", signout, methods=["GET", "POST"])]


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
