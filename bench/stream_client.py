"""A thin Streamlit client: opens a page over the app's own WebSocket protocol, without a browser.

Thirty Chromium pages on a 2-core machine measure mostly Chromium (about 8 CPU-seconds to lay out
and draw one Runs page, against well under one for the server to compute it). This client speaks
what the browser speaks to the server — a BackMsg asking to run a page with a query string — and
reads the ForwardMsgs back, so many sessions can be opened at once and the time measured is the
server's: from connecting to the message that carries the comparison's curves.
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field

import numpy as np
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass
class Opened:
    """What one session saw: seconds to the curves and to the end of the page's first run (None if
    they never came), and the errors it was shown."""

    seconds: float | None
    finished: float | None = None
    messages: int = 0
    errors: list[str] = field(default_factory=list)


def values(column) -> list[float]:
    """A trace's x or y as numbers: Plotly writes NumPy arrays as {"dtype": "f8", "bdata": base64}."""
    if isinstance(column, dict) and "bdata" in column:
        return np.frombuffer(base64.b64decode(column["bdata"]), dtype=np.dtype(column["dtype"])).tolist()
    return [v for v in (column or ()) if isinstance(v, (int, float))]


def curves_in(spec: str, runs: list[int]) -> bool:
    """True when a comparison figure (its JSON) has a curve of two points or more for every run in
    `runs` (the comparison groups each run's traces under its id)."""
    traces = json.loads(spec).get("data", [])
    drawn = {t.get("legendgroup") for t in traces if len(values(t.get("x"))) >= 2}
    return {str(r) for r in runs} <= drawn


def _rerun(page: str, query: str, fragment: str = "", script_hash: str = "") -> bytes:
    """The BackMsg that runs `page` (or only its `fragment`, as a browser's fragment timer does)."""
    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    msg.rerun_script.page_script_hash = script_hash
    msg.rerun_script.fragment_id = fragment
    msg.rerun_script.is_auto_rerun = bool(fragment)
    return msg.SerializeToString()


async def _receive(socket, left: float) -> ForwardMsg | None:
    """The next ForwardMsg, or None once `left` seconds pass without one."""
    if left <= 0:
        return None
    try:
        raw = await asyncio.wait_for(socket.recv(), left)
    except TimeoutError:
        return None
    msg = ForwardMsg()
    msg.ParseFromString(raw)
    return msg


def _error_shown(element) -> str | None:
    """The text of an exception or error box the page drew, or None for any other element."""
    kind = element.WhichOneof("type")
    if kind == "exception":
        return element.exception.message
    if kind == "alert" and element.alert.format == element.alert.ERROR:
        return element.alert.body
    return None


async def open_page(url: str, page: str, query: str, runs: list[int], timeout: float = 180.0) -> Opened:
    """Connect to the server at `url` (http://host:port), run `page` with `query`; time to the curves.

    The curves count as drawn when a Plotly chart arrives with a curve of two points or more for
    each of `runs`; the page is complete at the first `script_finished`.
    """
    began = time.monotonic()
    seen = Opened(None)
    stream = url.replace("http://", "ws://", 1) + "/_stcore/stream"
    async with websockets.connect(stream, subprotocols=["streamlit"], max_size=None, open_timeout=timeout,
                                  proxy=None) as socket:
        await socket.send(_rerun(page, query))
        while seen.seconds is None or seen.finished is None:
            msg = await _receive(socket, timeout - (time.monotonic() - began))
            if msg is None:
                break
            seen.messages += 1
            if msg.WhichOneof("type") == "script_finished" and seen.finished is None:
                seen.finished = time.monotonic() - began
            if msg.WhichOneof("type") != "delta" or not msg.delta.HasField("new_element"):
                continue
            element = msg.delta.new_element
            if (error := _error_shown(element)) is not None:
                seen.errors.append(error)
            elif element.WhichOneof("type") == "plotly_chart" and curves_in(element.plotly_chart.spec, runs):
                seen.seconds = time.monotonic() - began
    return seen


async def open_comparison(url: str, runs: list[int], count: int) -> list[Opened]:
    """Open `count` sessions of the Runs page comparing `runs`, all at the same moment; what each saw."""
    query = "runs=" + ",".join(map(str, runs))
    return await asyncio.gather(*(open_page(url, "runs", query, runs) for _ in range(count)))


@dataclass
class Watched:
    """A session kept open: seconds to its first curves, each comparison chart it got (monotonic time,
    {run id: last x of its curve}), and the errors it was shown."""

    opened: float | None = None
    charts: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reruns: int = 0


def last_x(spec: str) -> dict[str, float]:
    """Per run (legend group): the largest x of its curves in a comparison figure's JSON."""
    out: dict[str, float] = {}
    for trace in json.loads(spec).get("data", []):
        xs = values(trace.get("x"))
        group = trace.get("legendgroup")
        if xs and group:
            out[group] = max(out.get(group, 0.0), max(xs))
    return out


async def watch_page(url: str, page: str, query: str, runs: list[int], seconds: float,
                     cookie: str | None = None) -> Watched:
    """Open `page` like `open_page`, then stay `seconds`, rerunning each fragment when the server asks
    (its `auto_rerun` messages: what a browser's timers do), and record every comparison chart."""
    began = time.monotonic()
    seen = Watched()
    stream = url.replace("http://", "ws://", 1) + "/_stcore/stream"
    headers = {"Cookie": cookie} if cookie else None
    timers: dict[str, asyncio.Task] = {}
    script_hash = ""
    async with websockets.connect(stream, subprotocols=["streamlit"], max_size=None, open_timeout=120,
                                  proxy=None, additional_headers=headers) as socket:
        await socket.send(_rerun(page, query))

        async def rerun_every(fragment: str, interval: float) -> None:
            while True:
                await asyncio.sleep(interval)
                await socket.send(_rerun(page, query, fragment, script_hash))
                seen.reruns += 1

        try:
            while (msg := await _receive(socket, seconds - (time.monotonic() - began))) is not None:
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    script_hash = msg.new_session.page_script_hash
                elif kind == "auto_rerun":
                    fragment = msg.auto_rerun.fragment_id
                    if fragment not in timers:
                        timers[fragment] = asyncio.create_task(rerun_every(fragment, msg.auto_rerun.interval))
                elif kind == "delta" and msg.delta.HasField("new_element"):
                    element = msg.delta.new_element
                    if (error := _error_shown(element)) is not None:
                        seen.errors.append(error)
                    elif element.WhichOneof("type") == "plotly_chart" and {str(r) for r in runs} <= set(last := last_x(
                            element.plotly_chart.spec)):
                        now = time.monotonic()
                        seen.charts.append((now, last))
                        if seen.opened is None and curves_in(element.plotly_chart.spec, runs):
                            seen.opened = now - began
        finally:
            for task in timers.values():
                task.cancel()
    return seen
