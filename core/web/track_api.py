"""The class's JSON API for students' own scripts, at the HTTP layer beside sign-in (serve.py): the `trainlab`
client on a student's laptop reports its runs here with a personal API key (core/services/api_keys.py).

`POST /api/track/{start|report|end|test}` with `Authorization: Bearer <key>` and a JSON body, and
`PUT /api/track/model?run=N&key=K` with the trained model's `.keras` file as the body (TRAINLAB_MAX_UPLOAD_MB at
most; checked before anything of it is read by Keras: core/services/tracked_models.py). The answer is JSON, an
error one JSON line naming the field: 400 for a request refused as it is, 401 for a missing, unknown
or revoked key, 413 for a body over MAX_BODY, 429 when a key sends faster than RATE, 503 when the store cannot
take it now (the client keeps the request and sends it again). Every request acts as the key's student only,
on runs their reporter started (core/services/tracking.py), under the class's limits.
`GET /client/<wheel>` serves the client itself, so a laptop with no other network can `pip install` it.
"""
from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.domain.run_query import run_number
from core.errors import Refusal
from core.services import api_keys, client_package, tracked_models, tracking
from core.settings import load_settings
from core.store.schema import StoreError
from core.training.loading_process import LoadersBusy

MAX_BODY = 512 * 1024  # a report of 2,000 points is ~200 KB of JSON
BODY_SECONDS = 10.0  # a body still arriving after this is dropped (a slow sender holds a connection)
MODEL_SECONDS = 120.0  # the same for a model file: 200 MB over a class's busy Wi-Fi
# Model files are checked by loading them in a process of their own (seconds each): at most this many at once,
# on threads of their own, so a class's uploads never hold the threads every other API request runs on, and a
# key may send one now and then (a script sends one per fit; a refused one is not sent again).
UPLOADS_AT_ONCE, MODEL_RATE, MODEL_BURST = 2, 1 / 10, 5
RATE, BURST = 20.0, 40  # requests a second per key, and the burst it may save up (a client sends ~2 a second)
API_PREFIX, CLIENT_PREFIX = "/api/track/", "/client/"


class _Buckets:
    """A token bucket per key: at most `rate` requests a second on average, `burst` at once."""

    def __init__(self, rate: float = RATE, burst: int = BURST):
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}
        self.rate, self.burst = rate, burst

    def take(self, key: str, now: float) -> bool:
        with self._lock:
            tokens, then = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if len(self._state) > 10_000:  # keys that stopped sending: forget them
                self._state.clear()
            self._state[key] = (tokens - 1, now) if tokens >= 1 else (tokens, now)
            return tokens >= 1


_buckets = _Buckets()
_model_buckets = _Buckets(MODEL_RATE, MODEL_BURST)
_uploads = threading.BoundedSemaphore(UPLOADS_AT_ONCE)
_upload_threads = ThreadPoolExecutor(UPLOADS_AT_ONCE, thread_name_prefix="model-upload")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _bearer(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


class _TooLarge(Exception):
    pass


async def _stream(request: Request, limit: int, seconds: float, keep) -> None:
    """Hand the request's body to `keep` piece by piece, refused past `limit` bytes (whatever Content-Length
    says) or `seconds`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            keep(chunk)

    await asyncio.wait_for(read(), seconds)


async def _body(request: Request) -> bytes:
    """The request's body, refused past MAX_BODY bytes or BODY_SECONDS."""
    chunks: list[bytes] = []
    await _stream(request, MAX_BODY, BODY_SECONDS, chunks.append)
    return b"".join(chunks)


async def _actor(request: Request):
    """(the key's student, None) or (None, the error to answer): a known key within its rate."""
    key = _bearer(request)
    try:
        actor = await asyncio.to_thread(api_keys.actor_for_key, key)
    except StoreError as exc:
        return None, _error(503, str(exc))
    if actor is None:
        return None, _error(401, "key: missing, unknown or revoked; send 'Authorization: Bearer <key>' with a key "
                                 "made on the Your code page")
    if not _buckets.take(key, time.monotonic()):
        return None, _error(429, f"rate: over {RATE:.0f} requests a second with this key; report less often")
    return actor, None


async def track(request: Request) -> Response:
    """One reporter request: the key's student, the body checked, the tracking service's answer."""
    op = request.path_params["op"]
    if op not in tracking.REQUESTS:
        return _error(404, f"request: {op[:40]!r} is not one; use {', '.join(tracking.REQUESTS)}")
    actor, refused = await _actor(request)
    if refused is not None:
        return refused
    try:
        data = json.loads(await _body(request))
    except _TooLarge:
        return _error(413, f"body: over {MAX_BODY // 1024} KB; send fewer points at a time")
    except TimeoutError:
        return _error(408, f"body: not sent within {BODY_SECONDS:.0f} s")
    except ClientDisconnect:  # nobody reads the answer; said as one line in the log, not a traceback
        return _error(400, "body: the connection ended before the whole body arrived")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body: not JSON; send one JSON object")
    except RecursionError:  # '[[[[…' nested past Python's parser: no request of the client looks like it
        return _error(400, "body: nested too deeply; send one flat JSON object")
    extra = {"remote": True} if op == "start" else {}
    try:
        answer = await asyncio.to_thread(tracking.REQUESTS[op], data, load_settings(), actor, **extra)
    except StoreError as exc:  # locked or away for a moment: the client keeps the request and sends it again
        return _error(503, str(exc))
    except Refusal as exc:
        return _error(400, str(exc))
    return JSONResponse(answer)


async def model(request: Request) -> Response:
    """A tracked run's trained model from the reporter that started it: the file kept in a temporary file of the
    lab's, checked and kept as the student's model file (core/services/tracked_models.py)."""
    actor, refused = await _actor(request)
    if refused is not None:
        return refused
    run_id, key = run_number(request.query_params.get("run")), request.query_params.get("key", "")
    if run_id is None:
        return _error(400, "run: the run's number in ?run=N (the start's answer)")
    settings = load_settings()
    try:  # the cheap refusals first, and a model sent again answered as it was: neither costs a check
        kept = await asyncio.to_thread(tracked_models.already_kept, run_id, key, settings, actor)
    except StoreError as exc:
        return _error(503, str(exc))
    except Refusal as exc:
        return _error(400, str(exc))
    if kept is not None:
        return JSONResponse({"run": run_id, "model_file": kept.id, "name": kept.name})
    if not _model_buckets.take(_bearer(request), time.monotonic()):
        return _error(429, "rate: more model files than a script sends with this key; send it again later")
    if not _uploads.acquire(blocking=False):  # said before the body is read: the client sends it again later
        return _error(503, f"model: {UPLOADS_AT_ONCE} model files are being checked now; send it again shortly")
    try:
        return await _receive(request, run_id, key, actor, settings)
    finally:
        _uploads.release()


async def _receive(request: Request, run_id: int, key: str, actor, settings) -> Response:
    """The body into a temporary file of the lab's (removed whatever happens), then checked and kept."""
    folder = settings.home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".keras") as kept:
        try:
            await _stream(request, settings.max_upload_mb * 2**20, MODEL_SECONDS, kept.write)
            kept.flush()
        except _TooLarge:
            return _error(413, f"body: the model file is over {settings.max_upload_mb} MB (TRAINLAB_MAX_UPLOAD_MB)")
        except TimeoutError:
            return _error(408, f"body: the model file was not sent within {MODEL_SECONDS:.0f} s")
        except ClientDisconnect:
            return _error(400, "body: the connection ended before the whole file arrived")
        try:
            found = await asyncio.get_running_loop().run_in_executor(
                _upload_threads, tracked_models.receive, run_id, key, Path(kept.name), settings, actor)
        except (StoreError, LoadersBusy) as exc:  # a moment's trouble, not the file's: the client sends it again
            return _error(503, str(exc))
        except Refusal as exc:
            return _error(400, str(exc))
    return JSONResponse({"run": run_id, "model_file": found.id, "name": found.name})


async def client(request: Request) -> Response:
    """The `trainlab` client as a wheel, for `pip install http://<server>/client/<wheel>`."""
    name = request.path_params["name"]
    if name != client_package.WHEEL_NAME:
        wanted = CLIENT_PREFIX + client_package.WHEEL_NAME
        return _error(404, f"client: there is no {name[:80]!r} here; install {wanted}")
    return Response(client_package.wheel(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{client_package.WHEEL_NAME}"'})


def routes() -> list[Route]:
    """The API's routes, to serve beside the app (open past the sign-in gate: a key is their sign-in)."""
    return [Route(API_PREFIX + "model", model, methods=["PUT"]), Route(API_PREFIX + "{op}", track, methods=["POST"]),
            Route(CLIENT_PREFIX + "{name}", client)]
