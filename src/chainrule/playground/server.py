"""The playground's web server: Starlette routes, a WebSocket for live frames, uvicorn to serve.

Training never runs on the event loop: every use of the session (a training slice, a frame, an
explanation) runs on one worker thread, in turn, so the session never sees two changes at once
while the event loop stays free to answer requests. Long work (``/api/step`` with 1,000 epochs,
the play loop) runs in slices of about ``TICK_SECONDS``; between slices other requests get the
session, frames go out, and a pause, reset or new configuration cancels the rest.

Each page connected over WebSocket has its own bounded send queue
(:class:`~chainrule.playground.transport.FrameQueue`): a slow page skips frames, a page that
stops reading is closed, nobody waits for it. The transport-level defences (header deadline,
connection cap, body limits, error pages, rate-limited rejection log) are in
:mod:`chainrule.playground.transport`.

Security: the server listens on loopback unless told otherwise; requests whose ``Origin`` is
not the page's own, or whose ``Host`` is not one this server answers to, get 403; uploads are
capped; every setting is checked (HTTP 400 with a sentence that says what is wrong); an error in
a request never stops the server.

Routes: :func:`create_app` builds the list from :func:`api_routes` plus, for each function in
``extra_routes``, ``make(pg)``: a route module gets the :class:`Playground` (``await
pg.run(fn, *args)`` to use the session, ``await pg.broadcast_state()`` to push a frame) and
uses the helpers :func:`reply`, :func:`error`, :func:`guarded` and :func:`body_json`.

Starlette and uvicorn are imported here only, so ``import chainrule`` does not need them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

from chainrule.errors import ChainruleError, NonFiniteError
from chainrule.playground import transport
from chainrule.playground.session import Session, parse_upload
from chainrule.playground.validation import (
    MAX_UPLOAD_BYTES,
    Config,
    ValidationError,
    limits,
    request_object,
    validate_config,
)

log = logging.getLogger("chainrule.playground")

TICK_SECONDS = 0.05  # training time per slice (and per frame while playing)
FRAME_PAUSE = 0.02  # idle time between frames, for requests and the page
PROGRESS_SECONDS = 0.25  # frames sent at most this often while a long /api/step runs
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_REQUEST_BYTES = 64 * 1024  # JSON request bodies
MAX_REQUEST_DEPTH = 32  # JSON nesting in request bodies


def _missing_extra(err: ImportError) -> ImportError:
    return ImportError(
        f"the playground needs Starlette and uvicorn ({err.name} is missing); install them with "
        f"pip install 'chainrule[playground]'"
    )


def _train_slice(session: Session, unit: str, goal: int, budget: float) -> int:
    """Train until ``goal`` (a step count for ``batch``, an epoch for ``epoch``) or for about
    ``budget`` seconds, at least one step; returns the steps taken."""
    deadline = time.perf_counter() + budget
    taken = 0
    while (session.step_count if unit == "batch" else session.epoch) < goal:
        session.step()
        taken += 1
        if time.perf_counter() >= deadline:
            break
    return taken


class Playground:
    """The state one server shares between its routes: the session, the worker thread that
    alone uses it, the play loop and the pages connected over WebSocket."""

    def __init__(self, session: Session | None = None, stall_seconds: float | None = None):
        self.session = session or Session()
        self.playing = False
        self.clients: set = set()  # FrameQueue per connected page
        self.task = None
        self.frames_sent = 0
        self.generation = 0  # bumped by pause/reset/config/play: long work in flight stops
        self.play_generation = -1
        self.stall_seconds = transport.STALL_SECONDS if stall_seconds is None else stall_seconds
        self.closed_slow = 0
        self.watchdog = None
        self.max_pages = transport.MAX_WS_CLIENTS
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="chainrule-playground")

    async def run(self, fn, *args):
        """``fn(*args)`` on the worker thread (the only thread that touches the session)."""
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    def _frame_text(self, full: bool) -> str:
        return json.dumps(self.state(full), allow_nan=False, default=_json_default)

    async def broadcast_state(self, full: bool = False) -> dict | None:
        """Build a frame on the worker and queue it to every page; returns it (as a dict when
        ``full``, since requests reply with it)."""
        if full:
            frame = await self.run(self.state, True)
            self.broadcast_text(json.dumps(frame, allow_nan=False, default=_json_default), True)
            return frame
        if self.clients:
            self.broadcast_text(await self.run(self._frame_text, False), False)
        return None

    async def broadcast(self, message: dict, full: bool = False) -> None:
        """Queue ``message`` to every page (never waits for a page)."""
        self.broadcast_text(json.dumps(message, allow_nan=False, default=_json_default), full)

    def broadcast_text(self, text: str, full: bool = False) -> None:
        now = time.monotonic()
        for client in list(self.clients):
            if client.stalled(now):
                self.drop_slow(client)
            else:
                client.offer(text, full)
        self.frames_sent += 1

    def watch(self) -> None:
        """Start the watchdog that closes pages whose backlog stays stuck (also when no new
        frames are being sent)."""
        if self.watchdog is None or self.watchdog.done():
            self.watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while self.clients:
            await asyncio.sleep(min(1.0, self.stall_seconds / 2))
            now = time.monotonic()
            for client in list(self.clients):
                if client.stalled(now):
                    self.drop_slow(client)

    def drop_slow(self, client) -> None:
        self.clients.discard(client)
        self.closed_slow += 1
        reason = f"not reading frames: backlog stuck for {client.stall_seconds:g} s"
        transport_rejections(1008, "WS /ws", reason)
        asyncio.get_running_loop().create_task(client.close(1008, reason))

    def state(self, full: bool = False) -> dict:
        frame = self.session.frame(full=full)
        frame["playing"] = self.playing
        return frame

    async def play_loop(self, generation: int) -> None:
        try:
            while self.playing and self.generation == generation:
                try:
                    await self.run(_train_slice, self.session, "batch", 2**62, TICK_SECONDS)
                except NonFiniteError:
                    self.playing = False
                await self.broadcast_state()
                await asyncio.sleep(FRAME_PAUSE)
        finally:
            if self.generation == generation:
                self.playing = False
            if self.task is asyncio.current_task():
                self.task = None

    def play(self) -> None:
        if self.session.error:
            raise ValidationError(self.session.error)
        self.playing = True
        if self.task is None or self.task.done() or self.play_generation != self.generation:
            self.generation += 1  # a long step in flight stops; the play loop takes over
            self.play_generation = self.generation
            self.task = asyncio.get_running_loop().create_task(self.play_loop(self.generation))

    async def pause(self) -> None:
        """Stop the play loop and any long step in flight (each stops after its slice)."""
        self.playing = False
        self.generation += 1
        if self.task is not None:
            task = self.task
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5)
            except Exception:
                pass

    async def step(self, unit: str, count: int, request=None) -> bool:
        """``count`` batches or epochs in slices; False when cancelled (pause, reset, new
        configuration, or the client went away) before the end."""
        await self.pause()
        generation = self.generation
        if unit == "batch":
            goal = self.session.step_count + count
        else:
            goal = self.session.epoch + count
        last_frame = time.monotonic()
        while (self.session.step_count if unit == "batch" else self.session.epoch) < goal:
            if self.generation != generation:
                return False
            if request is not None and await request.is_disconnected():
                return False
            await self.run(_train_slice, self.session, unit, goal, TICK_SECONDS)
            if self.clients and time.monotonic() - last_frame > PROGRESS_SECONDS:
                await self.broadcast_state()
                last_frame = time.monotonic()
        return True

    def close(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)


transport_rejections = transport.RejectionLog()


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _host_port(host: str) -> tuple[str, str]:
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name.lower(), rest.lstrip(":")
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return name.lower(), port


class GuardMiddleware:
    """Refuse requests from other sites (``Origin``) and other names (``Host``, against DNS
    rebinding) with 403, before any route runs."""

    def __init__(self, app, allowed_hosts=None):
        self.app = app
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        reason = None
        if self.allowed_hosts is not None and host.lower() not in self.allowed_hosts:
            reason = f"host {host!r} is not this server's address"
        origin = headers.get("origin")
        if reason is None and origin is not None:
            scheme = {"ws": "http", "wss": "https"}.get(scope["scheme"], scope["scheme"])
            if origin.lower() != f"{scheme}://{host}".lower():
                reason = f"origin {origin!r} is not this page's origin"
        if reason is None:
            return await self.app(scope, receive, send)
        transport_rejections(403, f"{scope.get('method', 'WS')} {scope['path'][:100]}", reason)
        if scope["type"] == "websocket":
            await receive()  # the connect message
            await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
            return
        body = json.dumps({"error": f"forbidden: {reason}"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def reply(data, status: int = 200):
    """A JSON response with the security headers."""
    from starlette.responses import Response

    text = json.dumps(data, allow_nan=False, default=_json_default)
    return Response(text, status, media_type="application/json", headers=SECURITY_HEADERS)


def error(message: str, status: int = 400):
    """``{"error": message}`` with ``status``."""
    return reply({"error": message}, status)


async def body_json(request, allowed: tuple | None, limit: int = MAX_REQUEST_BYTES):
    """The request's JSON body, read with a size cap while it streams, parsed with a nesting
    limit; ``allowed``: the keys accepted (``None``: any JSON). Raises ValidationError (400)
    or BodyTooLarge (413)."""
    from chainrule.io.format import json_depth

    if "application/json" not in request.headers.get("content-type", ""):
        raise ValidationError("send the request body as JSON (Content-Type: application/json)")
    raw = await transport.read_body(request, limit)
    if json_depth(raw, MAX_REQUEST_DEPTH) > MAX_REQUEST_DEPTH:
        raise ValidationError(f"the request body nests deeper than {MAX_REQUEST_DEPTH} levels")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as err:
        raise ValidationError(f"the request body is not valid JSON ({err})") from None
    return data if allowed is None else request_object(data, allowed)


def guarded(handler):
    """Wrap a route so that every error is an answer: 400 for bad input, 409 for a diverged
    run, 413 for a body over its limit, 500 (one log line) for anything else."""

    async def wrapped(request):
        what = f"{request.method} {request.url.path}"
        try:
            return await handler(request)
        except ValidationError as err:
            transport_rejections(400, what, str(err))
            return error(str(err))
        except NonFiniteError as err:
            return error(str(err), 409)
        except ChainruleError as err:
            transport_rejections(400, what, str(err))
            return error(str(err))
        except transport.BodyTooLarge as err:
            transport_rejections(413, what, str(err))
            return error(str(err), 413)
        except TimeoutError:
            transport_rejections(408, what, "the request body came too slowly")
            return error("the request body came too slowly", 408)
        except Exception as err:  # the server stays up; the page shows the message
            transport_rejections(500, what, f"{type(err).__name__}: {err}")
            return error(f"internal error: {type(err).__name__}: {err}", 500)

    return wrapped


def create_app(
    session: Session | None = None,
    allowed_hosts=None,
    max_upload: int | None = None,
    *,
    stall_seconds: float | None = None,
    extra_routes=(),
):
    """The Starlette application (``allowed_hosts``: the ``Host`` values accepted, e.g.
    ``{"127.0.0.1:8000", "localhost:8000"}``; ``None`` accepts any; ``stall_seconds``: how
    long a page's send backlog may stay stuck before the page is closed; ``extra_routes``:
    functions ``make(pg) -> list of Starlette routes``, whose routes are added after the
    built-in ones)."""
    try:
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
    except ImportError as err:
        raise _missing_extra(err) from None

    from chainrule.playground import teaching

    pg = Playground(session, stall_seconds=stall_seconds)
    cap = MAX_UPLOAD_BYTES if max_upload is None else int(max_upload)

    def body_limit(path: str) -> int:
        return cap if path == "/api/upload" else MAX_REQUEST_BYTES

    app = Starlette(
        routes=[
            *api_routes(pg, cap),
            *teaching.routes(pg),  # the chain-rule panel's probe and weight editing
            *(route for make in extra_routes for route in make(pg)),
        ],
        middleware=[
            Middleware(
                transport.ShieldMiddleware, body_limit=body_limit, rejections=transport_rejections
            ),  # fmt: skip
            Middleware(GuardMiddleware, allowed_hosts=allowed_hosts),
        ],
    )
    app.state.playground = pg
    return app


def api_routes(pg: Playground, cap: int) -> list:
    """The page, its assets, the JSON API and the WebSocket, for ``pg``."""
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    assets = resources.files("chainrule.playground") / "assets"

    # ---- pages ------------------------------------------------------------------------------
    async def index(request: Request) -> Response:
        return HTMLResponse((assets / "index.html").read_text("utf-8"), headers=SECURITY_HEADERS)

    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        files = {p.name: p for p in assets.iterdir()}
        if name not in files or name == "index.html":
            return error(f"no asset {name!r}", 404)
        suffix = "." + name.rsplit(".", 1)[-1]
        return Response(
            files[name].read_bytes(),
            media_type=types.get(suffix, "application/octet-stream"),
            headers=SECURITY_HEADERS,
        )

    # ---- API ------------------------------------------------------------------------------
    async def options(request: Request) -> Response:
        return reply({"limits": limits(), "defaults": Config().to_dict()})

    async def state(request: Request) -> Response:
        return reply(await pg.run(pg.state, True))

    async def configure(request: Request) -> Response:
        body = await body_json(request, None)
        cfg = validate_config(body, pg.session.cfg)
        await pg.pause()
        await pg.run(pg.session.configure, cfg)  # raises ValidationError before any change
        return reply(await pg.broadcast_state(full=True))

    async def reset(request: Request) -> Response:
        await pg.pause()
        await pg.run(pg.session.reset)
        return reply(await pg.broadcast_state(full=True))

    async def play(request: Request) -> Response:
        pg.play()
        return reply({"playing": True, "step": pg.session.step_count})

    async def pause(request: Request) -> Response:
        await pg.pause()
        frame = await pg.run(pg.state)
        await pg.broadcast(frame)
        return reply(frame)

    async def step(request: Request) -> Response:
        body = await body_json(request, ("unit", "count"))
        unit = body.get("unit", "batch")
        if unit not in ("batch", "epoch"):
            raise ValidationError(f"unit must be 'batch' or 'epoch'; got {unit!r}")
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise ValidationError(f"count must be a whole number from 1 to 1000; got {count!r}")
        try:
            finished = await pg.step(unit, count, request)
        finally:
            frame = await pg.run(pg.state)
            await pg.broadcast(frame)
        if not finished:
            frame["cancelled"] = True
        return reply(frame)

    async def explain(request: Request) -> Response:
        body = await body_json(request, ("param", "index", "sample", "split"))
        if "param" not in body or "index" not in body:
            raise ValidationError("say which weight: {'param': '0.weight', 'index': [row, col]}")
        data = await pg.run(
            pg.session.explain,
            body["param"],
            body["index"],
            body.get("sample", 0),
            body.get("split", "train"),
        )
        return reply(data)

    async def trace(request: Request) -> Response:
        body = await body_json(request, ("sample", "split"))
        return reply(
            await pg.run(pg.session.trace, body.get("sample", 0), body.get("split", "train"))
        )

    async def upload(request: Request) -> Response:
        try:
            raw = await transport.read_body(request, cap)
        except transport.BodyTooLarge:
            return error(f"the upload is larger than {cap} bytes; send a smaller CSV", 413)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("the uploaded file is not UTF-8 text") from None
        text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the data
        if not text.strip():
            raise ValidationError("the uploaded file is empty")
        target = request.query_params.get("target") or None
        filename = (request.query_params.get("filename") or "upload.csv")[:100]
        try:
            up = await pg.run(parse_upload, text, target, filename)
        except (ValidationError, ChainruleError):
            raise
        except Exception as err:  # whatever the file holds, it is the file's problem: 400
            raise ValidationError(
                f"{filename}: cannot read the file as a CSV table ({type(err).__name__})"
            ) from None
        await pg.pause()

        def install() -> None:
            previous = pg.session.upload
            pg.session.upload = up
            try:
                pg.session.configure(validate_config({"dataset": "upload"}, pg.session.cfg))
            except Exception:
                pg.session.upload = previous
                raise

        await pg.run(install)
        return reply(await pg.broadcast_state(full=True))

    async def websocket(ws: WebSocket) -> None:
        if len(pg.clients) >= pg.max_pages:
            await ws.close(1013, "too many pages are connected; try again later")
            return
        await ws.accept()
        client = transport.FrameQueue(
            ws, ws.scope.get("chainrule.raw_send"), stall_seconds=pg.stall_seconds
        )
        pg.clients.add(client)
        pg.watch()
        try:
            client.offer(await pg.run(pg._frame_text, True), full=True)
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:  # the page only listens; text is ignored
                    transport_rejections(1003, "WS /ws", "binary message")
                    pg.clients.discard(client)
                    await client.close(1003, "binary messages are not accepted")
                    break
        finally:
            pg.clients.discard(client)
            client.closed = True
            client.task.cancel()

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    return [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/assets/{name}", asset),
        Route("/api/options", guarded(options)),
        Route("/api/state", guarded(state)),
        Route("/api/config", guarded(configure), methods=["POST"]),
        Route("/api/reset", guarded(reset), methods=["POST"]),
        Route("/api/play", guarded(play), methods=["POST"]),
        Route("/api/pause", guarded(pause), methods=["POST"]),
        Route("/api/step", guarded(step), methods=["POST"]),
        Route("/api/explain", guarded(explain), methods=["POST"]),
        Route("/api/trace", guarded(trace), methods=["POST"]),
        Route("/api/upload", guarded(upload), methods=["POST"]),
        WebSocketRoute("/ws", websocket),
    ]


def hosts_for(host: str, port: int) -> set | None:
    """The ``Host`` header values a server on ``host:port`` answers to (``None``: any, when it
    listens on every interface)."""
    if host in ("0.0.0.0", "::", ""):
        return None
    names = {host}
    if host in LOOPBACK:
        names |= {"127.0.0.1", "localhost", "[::1]"}
    out = set()
    for name in names:
        name = f"[{name}]" if ":" in name and not name.startswith("[") else name
        out |= {f"{name}:{port}", name} if port == 80 else {f"{name}:{port}"}
    return out


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket (``port=0``: a free port the system picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def make_server(
    host: str = "127.0.0.1",
    port: int = 0,
    session: Session | None = None,
    *,
    header_timeout: float = transport.HEADER_TIMEOUT,
    max_connections: int | None = None,
    stall_seconds: float | None = None,
):
    """``(server, sock, url)``: a uvicorn server bound to ``host:port`` (not yet running).

    Args:
        header_timeout: seconds a connection may stay without complete request headers.
        max_connections: HTTP connections kept open at most (default 2,048, at most half the
            descriptor limit); the oldest idle one makes room for a new one.
        stall_seconds: how long a page's send backlog may stay stuck before it is closed.
    """
    try:
        import uvicorn
    except ImportError as err:
        raise _missing_extra(err) from None
    sock = bind(host, port)
    port = sock.getsockname()[1]
    app = create_app(session, allowed_hosts=hosts_for(host, port), stall_seconds=stall_seconds)
    limits = transport.connection_limits(max_connections)  # raises the descriptor limit
    cap = limits.connections
    app.state.playground.max_pages = limits.pages
    protocol = transport.guarded_http_protocol(
        header_timeout=header_timeout, max_connections=cap, rejections=transport_rejections
    )
    config = uvicorn.Config(
        app,
        http=protocol,
        log_level="warning",
        ws_max_size=1 << 16,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_per_message_deflate=False,  # compressing each frame per page would cost the loop
        lifespan="off",
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,  # request line + headers
        limit_concurrency=cap + limits.pages + 64,
        backlog=limits.accept_batch,  # asyncio accepts up to this many at once
    )
    # Training runs on a worker thread: hand the GIL back to the event loop every millisecond
    # (Python's default is 5 ms) so requests are answered while a long step runs.
    sys.setswitchinterval(min(sys.getswitchinterval(), transport.SWITCH_INTERVAL))
    limiter = transport.RateLimitFilter()
    for name in ("uvicorn.error", "uvicorn.asgi", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, transport.RateLimitFilter) for f in logger.filters):
            logger.addFilter(limiter)
    server = uvicorn.Server(config)
    server.playground = app.state.playground
    shown = f"[{host}]" if ":" in host else host
    return server, sock, f"http://{shown}:{port}/"


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = False) -> None:
    """Run the playground until interrupted; prints the address first."""
    server, sock, url = make_server(host, port)
    print(f"chainrule playground: {url}  (Ctrl+C to stop)", flush=True)
    if host not in LOOPBACK:
        print(
            f"warning: listening on {host}, not only this computer; anyone who can reach it can "
            f"use the playground",
            flush=True,
        )
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server.run(sockets=[sock])
