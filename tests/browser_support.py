"""What the browser tests share: Debian's Chromium and its flags, a Streamlit server a test can
stop and start, and screenshots. The `server` and `page` fixtures are in conftest.py."""
import contextlib
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import PROJECT_ROOT, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
CURVE_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')]
                       .some(p => (p.getAttribute('d') || '').split('L').length > 3)"""


# Text the page shows cut off: a text node running past any box that clips it (overflow hidden, an ellipsis, or
# a box that scrolls sideways: its own, or an outer one, as a multiselect hides its chips), and an input (a select
# box's chosen value, a typed field) whose value is wider than the field.
CUT_TEXT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid=stMain] *')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const range = document.createRange(); range.selectNodeContents(el);
    const text = range.getBoundingClientRect();
    if (!text.width) continue;
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      // A box that scrolls sideways hides what is past its edge too (a multiselect's chips); code blocks aside.
      const clips = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis'
        || (['auto', 'scroll'].includes(style.overflowX) && !a.closest('pre'));
      if (clips && text.right > a.getBoundingClientRect().right + 1) {
        out.push(el.textContent.trim().slice(0, 60));
        break;
      }
    }
  }
  for (const el of document.querySelectorAll('[data-testid=stMain] input')) {
    if (el.type !== 'range' && el.value && el.scrollWidth > el.clientWidth + 1) out.push(el.value.slice(0, 60));
  }
  return out;
}"""


# Text of a Plotly chart drawn over other text of it: tick labels, axis and panel titles, annotations (an empty
# chart's message), the legend and Plotly's toolbar, each pair's boxes compared.
CHART_OVERLAPS = """() => {
  const out = [];
  const hit = (a, b) => a.width && b.width && a.left < b.right - 1 && b.left < a.right - 1
    && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  document.querySelectorAll('.js-plotly-plot').forEach((plot, n) => {
    const parts = [];
    const add = (selector, kind) => plot.querySelectorAll(selector).forEach(e => {
      const r = e.getBoundingClientRect();
      if (r.width) parts.push({kind, text: (e.textContent || '').slice(0, 30), r});
    });
    add('.xtick text', 'x tick'); add('.ytick text', 'y tick'); add('.g-xtitle text, .g-x2title text', 'x title');
    add('.g-ytitle text, .g-y2title text', 'y title'); add('.gtitle', 'title'); add('.annotation-text', 'annotation');
    add('.legend .bg', 'legend'); add('.modebar', 'toolbar'); add('.parcoords .axis-title', 'axis title');
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
      const a = parts[i], b = parts[j];
      if (hit(a.r, b.r)) out.push(`chart ${n}: ${a.kind} '${a.text}' over ${b.kind} '${b.text}'`);
    }
  });
  return out;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Local requests never go through a proxy (and urlopen's global opener may hold one from the environment).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _healthy(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class StreamlitServer:
    """`streamlit run app.py` (or `script`) on a fixed port, which a test can stop and start again."""

    def __init__(self, log_path: Path, script: str = "app.py"):
        self.script = script
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", self.script, "--server.port", str(self.port),
                 "--server.headless", "true", "--server.fileWatcherType", "none"],
                cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            wait_for(lambda: _healthy(f"{self.url}/_stcore/health"), 60, what="streamlit to serve")
        except AssertionError as exc:
            log = self.log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"{exc}; exit code {self.process.poll()}; server log:\n{log}") from None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL when it has not ended in 15 s: a script run still computing (a Grad-CAM, on
        a loaded 2-core machine) can keep Streamlit from ending that soon, and the test is over by then."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)


def choose_option(page, select, option_name: str, timeout: float = 60) -> None:
    """Open the Streamlit select `select` (a locator) and click its option `option_name`. On a loaded machine a
    rerun can redraw the select just after it opened and close its list: it is opened again until the option shows."""
    option = page.get_by_role("option", name=option_name)

    def shown() -> bool:
        if not option.is_visible():
            select.click(timeout=timeout * 1000)
            page.wait_for_timeout(500)
        return option.is_visible()

    wait_for(shown, timeout, what=f"the option {option_name!r} to show")
    option.click()


def screenshot(page, name: str) -> None:
    """A full-page screenshot in artifacts/ (not committed), to look at after a run."""
    artifacts = PROJECT_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / name), full_page=True)


@contextlib.contextmanager
def classroom_server(home: Path, prepare=None):
    """serve.py behind the sign-in gate, in classroom mode, on a lab of its own in `home` with tess (teacher), amy
    and ben (passwords NAME-password); `prepare(settings)` runs before the server starts (keys, rules). Yields
    (server, settings, what `prepare` returned); the server is stopped and the environment restored after."""
    import pytest

    from core.services import accounts
    from core.settings import load_settings

    with pytest.MonkeyPatch.context() as env:
        env.delenv("TRAINLAB_DB_URL", raising=False)
        for name, value in {"TRAINLAB_HOME": str(home / "lab"), "KERAS_HOME": str(home / "keras"),
                            "TRAINLAB_AUTOSTART_WORKERS": "0", "TRAINLAB_CLASSROOM": "1",
                            "TRAINLAB_DATA_ROOT": str(home / "data")}.items():
            env.setenv(name, value)
        settings = load_settings()
        for name, role in (("tess", "teacher"), ("amy", "student"), ("ben", "student")):
            accounts.add(name, role, f"{name}-password", settings)
        prepared = prepare(settings) if prepare else None
        server = StreamlitServer(home / "streamlit.log", script="serve.py")
        server.start()
        try:
            yield server, settings, prepared
        finally:
            server.stop()
