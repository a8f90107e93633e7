"""Figure 10: figure 9's signed-in class, with real browsers: 30 headless Chromium pages (issue 16).

The same classroom server (`serve.py`, sign-in on) and 30 student accounts as figure 9, but each
session is a Chromium page (Playwright, Debian's chromium, one browser context per student holding
that student's session cookie from the `/signin` form). All 30 open `/runs?runs=A,B` at the same
moment while the two runs train, then stay `seconds`, their own timers rerunning the live fragments,
while three students submit runs. Measured: time from opening to both curves on screen, how far the
curves on screen are behind the store (sampled from each page's Plotly data every few seconds),
errors (uncaught page errors and error boxes on the page), the server's memory, and the CPU of the
server and of the browsers: on this 2-core machine the browsers share the cores with the server, so
the client share says what part of the waiting is theirs.
"""
from __future__ import annotations

import statistics
import threading
import time

from bench.browser_latency import CHROMIUM, FLAGS
from bench.class_sessions import _lag, _store_progress, signed_in_class, submit_later
from bench.common import Lab
from bench.watching_sessions import CURVES_DRAWN, _browser_pid, _p95, cpu_seconds, rss_mb, tree_cpu_seconds

# Per run (legend group): the largest x on screen, from the Plotly figures' decoded data (gd._fullData: gd.data
# keeps the packed {dtype, bdata} arrays the server sent).
LAST_X = """() => { const out = {};
  for (const gd of document.querySelectorAll(".js-plotly-plot")) for (const t of (gd._fullData || [])) {
    if (!t.legendgroup || !t.x || !t.x.length) continue;
    let m = -Infinity; for (const v of t.x) m = Math.max(m, Number(v));
    out[t.legendgroup] = Math.max(out[t.legendgroup] ?? -Infinity, m); }
  return out; }"""
ERRORS_SHOWN = """() => document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]')
    .length"""


def _open_all(browser, url: str, cookies: list[str], query: str, errors: list[str]) -> tuple[list, list[float]]:
    """One signed-in context per cookie, all opening the page at once; for each page that drew both curves,
    the seconds from its own navigation to the curves on screen (every page polled in turn, so a slow one
    does not hide when the others drew)."""
    pages = []
    for cookie in cookies:
        name, value = cookie.split("=", 1)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": name, "value": value, "url": url}])
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        pages.append(page)
    started = {}
    for i, page in enumerate(pages):
        started[i] = time.monotonic()
        page.goto(f"{url}/runs?{query}", wait_until="commit", timeout=600_000)
    opened, deadline = {}, time.monotonic() + 900
    while len(opened) < len(pages) and time.monotonic() < deadline:
        for i, page in enumerate(pages):
            if i not in opened:
                try:
                    if page.evaluate(CURVES_DRAWN):
                        opened[i] = time.monotonic() - started[i]
                except Exception:  # noqa: BLE001 - a page still loading: look again next round
                    pass
        time.sleep(0.5)
    return pages, list(opened.values())


def _sample_lags(pages, ids: list[int], seconds: float, store_seen: dict) -> list[float]:
    """Every few seconds, each page's newest x per run against when the store first held it."""
    lags, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        for page in pages:
            try:
                shown = page.evaluate(LAST_X)
            except Exception:  # noqa: BLE001 - a page mid-rerun: sample it next round
                continue
            now = time.monotonic()
            for run_id in map(str, ids):
                if run_id in shown and (lag := _lag(now, shown[run_id], store_seen.get(run_id, []))) is not None:
                    lags.append(lag)
        time.sleep(3)
    return lags


def run(lab: Lab, quick: bool = False, sessions: int = 30, seconds: float = 120.0) -> list[dict]:
    """One row: page p50/p95, curve lag p50/p95, errors, memory, server and client CPU."""
    from playwright.sync_api import sync_playwright

    sessions, seconds = (4, 30.0) if quick else (sessions, seconds)
    with signed_in_class(lab, "class_browsers", sessions) as (settings, process, url, busy, names, cookies), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            rss_before = rss_mb(process.pid)
            stop, store_seen, page_errors = threading.Event(), {}, []
            watcher = threading.Thread(target=_store_progress, args=(settings, busy, stop, store_seen))
            watcher.start()
            browser_pid = _browser_pid(browser)
            server0, clients0, began = cpu_seconds(process.pid), tree_cpu_seconds(browser_pid), time.monotonic()
            pages, opened = _open_all(browser, url, cookies, "runs=" + ",".join(map(str, busy)), page_errors)
            open_wall = time.monotonic() - began
            open_server, open_clients = cpu_seconds(process.pid) - server0, tree_cpu_seconds(browser_pid) - clients0
            submitter = submit_later(settings, names, seconds)
            server0, clients0 = cpu_seconds(process.pid), tree_cpu_seconds(browser_pid)
            lags = _sample_lags(pages, busy, seconds, store_seen)
            watch_server = cpu_seconds(process.pid) - server0
            watch_clients = tree_cpu_seconds(browser_pid) - clients0
            shown_errors = sum(page.evaluate(ERRORS_SHOWN) for page in pages)
            stop.set()
            watcher.join()
            submitter.join()
            rss_after = rss_mb(process.pid)
        finally:
            browser.close()
    row = {
        "sessions": sessions, "seconds": seconds, "drew curves": f"{len(opened)}/{sessions}",
        "page p50 (s)": round(statistics.median(opened), 1) if opened else None,
        "page p95 (s)": round(_p95(opened), 1) if opened else None,
        "opening: server / browsers CPU-s": f"{open_server:.0f} / {open_clients:.0f} in {open_wall:.0f} s",
        "curve lag p50 (s)": round(statistics.median(lags), 2) if lags else None,
        "curve lag p95 (s)": round(_p95(lags), 2) if lags else None,
        "lag samples": len(lags),
        "errors": len(page_errors) + shown_errors,
        "page errors (first 2)": " | ".join(e[:120] for e in page_errors[:2]),
        "watching: server / browsers % of a core": f"{100 * watch_server / seconds:.0f} / "
                                                  f"{100 * watch_clients / seconds:.0f}",
        "server RSS before / after (MB)": f"{rss_before:.0f} / {rss_after:.0f}",
    }
    print(row, flush=True)
    return [row]


if __name__ == "__main__":
    import sys

    run(Lab(), quick="--quick" in sys.argv)
