"""The app's open WebSockets, by the session that opened them, so a session that ends loses them at once.

Streamlit keeps one WebSocket per browser tab open for as long as the tab is, and pushes every live
redraw through it; the sign-in gate only checks a session when a connection opens. So the gate hands each
WebSocket it lets through to `serve`, which closes it (code 1008, policy) as soon as its session ends:
at once when this process signs it out (`end`), and within `RECHECK_SECONDS` when it expires or ends
elsewhere (a new password set from the CLI, `users remove`), found by one look at the store for every
open session together.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

RECHECK_SECONDS = 0.5
CLOSE_POLICY = 1008  # the session is over: the page reloads and meets the sign-in page

log = logging.getLogger(__name__)
_open: dict[str, set[asyncio.Event]] = {}  # session token hash -> an event per open WebSocket
_watcher: dict[str, asyncio.Task | None] = {"task": None}


def end(token_hash: str) -> int:
    """Close every WebSocket of session `token_hash` now; how many there were."""
    events = _open.get(token_hash, set())
    for event in events:
        event.set()
    return len(events)


async def serve(app, scope, receive, send, token_hash: str, live: Callable[[set[str]], Awaitable[set[str]]]) -> None:
    """Run the app's WebSocket `scope` until it ends or its session does (`live` says which of some token
    hashes are still signed in); then close it and tell the app the browser has gone."""
    ended = asyncio.Event()
    _open.setdefault(token_hash, set()).add(ended)
    _ensure_watcher(live)
    closed = False
    pending: asyncio.Future | None = None  # the browser's next message, awaited across calls

    async def guarded_receive():
        nonlocal pending
        if ended.is_set():
            return {"type": "websocket.disconnect", "code": CLOSE_POLICY}
        pending = pending or asyncio.ensure_future(receive())
        stop = asyncio.ensure_future(ended.wait())
        try:
            await asyncio.wait({pending, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if pending.done():
            message, pending = pending.result(), None
            return message
        return {"type": "websocket.disconnect", "code": CLOSE_POLICY}

    async def guarded_send(message):
        if closed:
            return  # the server already closed this socket for the ended session: nothing more goes out
        await send(message)

    async def close_when_ended():
        nonlocal closed
        await ended.wait()
        closed = True
        with contextlib.suppress(Exception):  # the browser may have gone already
            await send({"type": "websocket.close", "code": CLOSE_POLICY})

    closer = asyncio.ensure_future(close_when_ended())
    try:
        await app(scope, guarded_receive, guarded_send)
    finally:
        closer.cancel()
        if pending is not None:
            pending.cancel()
        events = _open.get(token_hash, set())
        events.discard(ended)
        if not events:
            _open.pop(token_hash, None)


def _ensure_watcher(live) -> None:
    task = _watcher["task"]
    if task is None or task.done():
        _watcher["task"] = asyncio.ensure_future(_watch(live))


async def _watch(live) -> None:
    """Every RECHECK_SECONDS while any WebSocket is open: end those whose session is no longer live."""
    while _open:
        await asyncio.sleep(RECHECK_SECONDS)
        hashes = set(_open)
        try:
            alive = await live(hashes)
        except Exception:  # noqa: BLE001 - the store is away for a moment: look again next time
            log.warning("could not check the open sessions", exc_info=True)
            continue
        for token_hash in hashes - alive:
            end(token_hash)
