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

The JSON helpers and the Origin/Host guard are in :mod:`chainrule.playground.http`, the routes
in :mod:`chainrule.playground.routes` (one function per group). :func:`create_app` builds the
list from :func:`~chainrule.playground.routes.api_routes` plus, for each function in
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

from chainrule.errors import NonFiniteError
from chainrule.playground import transport
from chainrule.playground.http import (  # the route helpers, importable from here too
    MAX_REQUEST_BYTES,
    MAX_REQUEST_DEPTH,
    SECURITY_HEADERS,
    GuardMiddleware,
    body_json,
    error,
    guarded,
    json_default,
    reply,
    transport_rejections,
)
from chainrule.playground.routes import api_routes
from chainrule.playground.session import Session
from chainrule.playground.validation import MAX_UPLOAD_BYTES, ValidationError

__all__ = [
    "MAX_REQUEST_BYTES",
    "MAX_REQUEST_DEPTH",
    "SECURITY_HEADERS",
    "GuardMiddleware",
    "Playground",
    "api_routes",
    "body_json",
    "bind",
    "create_app",
    "error",
    "guarded",
    "hosts_for",
    "make_server",
    "reply",
    "serve",
]

log = logging.getLogger("chainrule.playground")

TICK_SECONDS = 0.05  # training time per slice (and per frame while playing)
FRAME_PAUSE = 0.02  # idle time between frames, for requests and the page
PROGRESS_SECONDS = 0.25  # frames sent at most this often while a long /api/step runs
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


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
        return json.dumps(self.state(full), allow_nan=False, default=json_default)

    async def broadcast_state(self, full: bool = False) -> dict | None:
        """Build a frame on the worker and queue it to every page; returns it (as a dict when
        ``full``, since requests reply with it)."""
        if full:
            frame = await self.run(self.state, True)
            self.broadcast_text(json.dumps(frame, allow_nan=False, default=json_default), True)
            return frame
        if self.clients:
            self.broadcast_text(await self.run(self._frame_text, False), False)
        return None

    async def broadcast(self, message: dict, full: bool = False) -> None:
        """Queue ``message`` to every page (never waits for a page)."""
        self.broadcast_text(json.dumps(message, allow_nan=False, default=json_default), full)

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
