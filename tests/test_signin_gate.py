"""The sign-in gate under attack, against one real `serve.py` in classroom mode (shared by these tests):
WebSockets cut off when their session ends, bounded bodies before sign-in, parallel guesses counted,
and a damaged store answered with a page that names the file."""
import asyncio
import contextlib
import http.client
import os
import socket
import sqlite3
import time
import urllib.parse

import pytest

from core.services import accounts
from tests.browser_support import classroom_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("gate")]  # one real server, in one test process


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    """serve.py behind the gate, with tess (teacher), amy and ben; its settings."""
    with classroom_server(tmp_path_factory.mktemp("gate")) as (server, settings, _):
        yield server, settings


def _post(server, path: str, fields: dict, cookie: str = "") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = urllib.parse.urlencode(fields)
    connection.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    return connection.getresponse()


def _sign_in(server, name: str) -> str:
    response = _post(server, "/signin", {"name": name, "password": f"{name}-password", "next": "/"})
    assert response.status == 303, response.read()[:300]
    cookie = next(v for k, v in response.getheaders() if k.lower() == "set-cookie" and "trainlab_session=" in v)
    return cookie.split(";")[0]


async def _open_socket(server, cookie: str):
    import websockets

    return await websockets.connect(f"ws://127.0.0.1:{server.port}/_stcore/stream", subprotocols=["streamlit"],
                                    additional_headers={"Cookie": cookie}, open_timeout=30, proxy=None)


async def _seconds_until_closed(socket_, limit: float = 5.0) -> tuple[float, int | None]:
    start = time.monotonic()
    try:
        await asyncio.wait_for(socket_.wait_closed(), limit)
    except TimeoutError:
        return limit, None
    return time.monotonic() - start, socket_.close_code


def test_signing_out_cuts_off_every_open_page_of_that_session_within_a_second(gate):
    server, _ = gate
    amy, ben = _sign_in(server, "amy"), _sign_in(server, "ben")

    async def scenario():
        amy_tabs = [await _open_socket(server, amy) for _ in range(2)]
        ben_tab = await _open_socket(server, ben)
        await asyncio.sleep(1.0)
        assert all(s.close_code is None for s in (*amy_tabs, ben_tab))  # open while signed in
        signed_out = await asyncio.to_thread(_post, server, "/signout", {}, amy)
        assert signed_out.status == 303
        for tab in amy_tabs:
            seconds, code = await _seconds_until_closed(tab)
            assert code == 1008 and seconds < 1.0, (seconds, code)
        assert ben_tab.close_code is None  # another session's page stays
        await ben_tab.close()

    asyncio.run(scenario())


def test_a_new_password_or_a_removed_account_cuts_off_open_pages_within_a_second(gate):
    server, settings = gate
    accounts.add("cleo", "student", "cleo-password", settings)
    tess, cleo = _sign_in(server, "tess"), _sign_in(server, "cleo")

    async def scenario():
        tess_tab, cleo_tab = await _open_socket(server, tess), await _open_socket(server, cleo)
        await asyncio.sleep(0.5)
        accounts.set_password("tess", "tess-password", settings)  # as `users password tess` does, elsewhere
        accounts.remove("cleo", settings)
        for tab in (tess_tab, cleo_tab):
            seconds, code = await _seconds_until_closed(tab, 3.0)
            assert code == 1008 and seconds < 1.5, (seconds, code)

    asyncio.run(scenario())


def test_a_100_mb_sign_in_body_is_refused_before_it_is_read(gate):
    server, _ = gate
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 100000000\r\n\r\n" + b"a" * 1000)
        answer = raw.recv(4096).decode("latin-1")  # answered after 1 kB of the 100 MB
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:  # no length: cut at the limit
        raw.sendall(b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
        refused = ""
        for _ in range(100):  # 100 chunks of 1 kB would be 100 kB: refused after ~4 kB
            try:
                raw.sendall(b"400\r\n" + b"a" * 1024 + b"\r\n")
            except OSError:
                break
            raw.settimeout(0.05)
            try:
                refused = raw.recv(4096).decode("latin-1")
                break
            except TimeoutError:
                continue
    assert refused.startswith("HTTP/1.1 413"), refused[:200]
    many = _post(server, "/signin", {f"f{i}": "x" for i in range(50)})
    assert many.status == 400


def test_parallel_guesses_over_http_get_one_check_per_wait(gate):
    from concurrent.futures import ThreadPoolExecutor

    server, _ = gate

    def guess(i: int) -> str:
        page = _post(server, "/signin", {"name": "ben", "password": f"guess-{i}"}).read().decode()
        return "checked" if "Wrong user name or password" in page else "refused"

    with ThreadPoolExecutor(30) as pool:
        first = list(pool.map(guess, range(30)))
    assert first.count("checked") == accounts.SIGN_IN_RULES["name"].free
    time.sleep(1.1)
    with ThreadPoolExecutor(30) as pool:
        assert list(pool.map(guess, range(30))).count("checked") == 1


def test_another_apps_odd_cookie_does_not_hide_the_session(gate):
    server, _ = gate
    amy = _sign_in(server, "amy")
    for odd in ("x[0]=1", 'prefs={"theme":"dark"}'):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("GET", "/runs", headers={"Cookie": f"{odd}; {amy}"})
        response = connection.getresponse()
        assert response.status == 200, (odd, response.status, response.getheader("location"))


def test_a_form_posted_from_another_site_neither_signs_in_nor_out(gate):
    server, settings = gate
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("POST", "/signin", "name=amy&password=amy-password&next=/",
                       {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"})
    response = connection.getresponse()
    assert response.status == 403 and not response.getheader("set-cookie")
    amy = _sign_in(server, "amy")
    assert _post(server, "/signout", {}, amy).status == 303  # from Train Lab's own page (no Origin: a script)
    ben = _sign_in(server, "tess")  # (ben is still slowed down by the guessing test above)
    confirm = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    confirm.request("GET", "/signout", headers={"Cookie": ben})  # a link on any page: asks, signs nobody out
    page = confirm.getresponse()
    assert page.status == 200 and 'method="post" action="/signout"' in page.read().decode()
    assert accounts.actor_for(ben.split("=", 1)[1], settings) is not None
    forged = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    forged.request("POST", "/signout", "", {"Cookie": ben, "Origin": "http://evil.example",
                                            "Content-Type": "application/x-www-form-urlencoded"})
    assert forged.getresponse().status == 403 and accounts.actor_for(ben.split("=", 1)[1], settings) is not None
    upper = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    upper.request("POST", "/signin", "name=tess&password=tess-password",
                  {"Content-Type": "APPLICATION/X-WWW-FORM-URLENCODED"})
    assert upper.getresponse().status == 303  # a content type's case does not matter


def test_a_damaged_store_behind_the_gate_is_a_page_naming_the_file(gate):
    # Last of the tests on the shared server: its store is overwritten and put back under a live server.
    server, settings = gate
    tess = _sign_in(server, "tess")
    # The sign-in's writes wait in the WAL, which would shadow the damaged pages: move them into the file first.
    with contextlib.closing(sqlite3.connect(settings.db_path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    original = settings.db_path.read_bytes()
    try:
        with open(settings.db_path, "r+b") as fh:
            fh.write(os.urandom(4096))
        for path, cookie in (("/signin", ""), ("/runs", tess), ("/", tess)):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            if path == "/signin":
                connection.request("POST", path, "name=tess&password=tess-password",
                                   {"Content-Type": "application/x-www-form-urlencoded"})
            else:
                connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            page = response.read().decode()
            assert response.status == 503, (path, response.status, page[:300])
            assert "trainlab.db is damaged" in page and "README: Backing up" in page
            assert "Internal Server Error" not in page
    finally:
        settings.db_path.write_bytes(original)


def test_stopping_the_serve_command_stops_the_server(tmp_path):
    import signal
    import subprocess
    import sys

    from tests.browser_support import PROJECT_ROOT, _free_port, _healthy
    from tests.conftest import wait_for

    port = _free_port()
    env = {**os.environ, "TRAINLAB_HOME": str(tmp_path / "lab"), "TRAINLAB_AUTOSTART_WORKERS": "0"}
    env.pop("TRAINLAB_CLASSROOM", None)
    with open(tmp_path / "serve.log", "wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port)], cwd=PROJECT_ROOT,
                                 env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/_stcore/health"), 60, what="the server to serve")
        serve.send_signal(signal.SIGTERM)  # what `kill PID` or a service manager sends
        serve.wait(20)
        wait_for(lambda: not _healthy(f"http://127.0.0.1:{port}/_stcore/health"), 10, what="the server to stop")
    finally:
        if serve.poll() is None:
            serve.kill()
