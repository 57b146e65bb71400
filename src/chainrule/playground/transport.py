"""The playground server's defences at the transport level: what keeps one bad client from
stalling everyone else.

- :class:`FrameQueue`: each WebSocket page gets its own sender task and a backlog of at most
  two messages (the latest full state and the latest frame after it: a newer frame replaces an
  older one, so a slow page skips frames instead of delaying everyone). A page whose backlog
  does not move for ``stall_seconds`` is closed with code 1008 and a reason.
- :func:`guarded_http_protocol`: uvicorn's h11 protocol with a deadline for request headers
  (an idle or trickling connection is closed), a cap on open HTTP connections (the oldest idle
  one makes room for a new one) and a 503 when every connection is busy.
- :class:`ShieldMiddleware`: request bodies capped while they stream (``Content-Length``
  checked first, 413), any error becomes a short JSON error page or a WebSocket close frame with
  a reason, never a traceback; every rejection is logged as one line, rate-limited
  (:class:`RejectionLog`).
- :func:`connection_limits`: raises the soft ``RLIMIT_NOFILE`` towards the hard one and shares
  it out between HTTP connections, pages and one batch of accepts, so the caps, not the
  descriptor table, are what limit connections.

Starlette and uvicorn (and h11) are imported only inside the functions that need them.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import socket
import struct
import time
from typing import NamedTuple

log = logging.getLogger("chainrule.playground")

STALL_SECONDS = 10.0  # a page whose backlog does not move for this long is closed
CLOSE_GRACE_SECONDS = 5.0  # then its socket is cut if the close frame cannot be delivered
HEADER_TIMEOUT = 10.0  # seconds to send a request's headers (idle connections included)
BODY_TIMEOUT = 30.0  # seconds to send a request's body
MAX_HTTP_CONNECTIONS = 2048
MAX_WS_CLIENTS = 512
DEFAULT_BODY_LIMIT = 64 * 1024
SEND_BUFFER_BYTES = 256 * 1024  # kernel send buffer per connection
SWITCH_INTERVAL = 0.001  # seconds: how soon the event loop gets the GIL back from training


class RejectionLog:
    """One log line per rejected request, at most ``rate`` lines a second (bursts of
    ``burst``); what is left out is counted and reported on the next line that is written."""

    def __init__(self, rate: float = 5.0, burst: int = 20, logger=log):
        self.rate, self.burst, self.logger = rate, burst, logger
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self.suppressed = 0
        self.total = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.suppressed += 1
        return False

    def __call__(self, status, what: str, reason: str) -> None:
        self.total += 1
        if not self.allow():
            return
        more = f" (+{self.suppressed} more not logged)" if self.suppressed else ""
        self.suppressed = 0
        self.logger.warning("rejected %s %s: %s%s", status, what, reason[:200], more)


class RateLimitFilter(logging.Filter):
    """A logging filter that lets through at most ``rate`` records a second and drops the
    traceback of those it lets through (one line each)."""

    def __init__(self, rate: float = 5.0, burst: int = 20):
        super().__init__()
        self.limiter = RejectionLog(rate, burst)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.limiter.allow():
            return False
        if record.exc_info:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"[:300]
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def raise_descriptor_limit(wanted: int = 65536) -> int | None:
    """Raise the soft limit on open files towards ``wanted`` (never above the hard limit);
    returns the soft limit now in force (``None`` where the system has none)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        return None if soft == resource.RLIM_INFINITY else soft
    except (OSError, ValueError):
        return None


class Limits(NamedTuple):
    """How many HTTP connections and pages to keep, and how many connections to accept at
    once, so that together they stay inside the descriptor limit."""

    connections: int
    pages: int
    accept_batch: int


def connection_limits(requested: int | None = None) -> Limits:
    """Raise the descriptor limit where allowed, then share it out: at most half to HTTP
    connections (default cap 2,048, or ``requested``), a quarter to pages (at most 512), a
    sixteenth to one batch of accepts, the rest for files and the server itself."""
    cap = MAX_HTTP_CONNECTIONS if requested is None else int(requested)
    soft = raise_descriptor_limit()
    if soft is None:
        return Limits(cap, MAX_WS_CLIENTS, 1024)
    return Limits(
        max(8, min(cap, soft // 2)),
        max(4, min(MAX_WS_CLIENTS, soft // 4)),
        max(8, min(1024, soft // 16)),
    )


# ---- closing a connection the hard way ------------------------------------------------------


def force_close(send, code: int, reason: str, grace: float = CLOSE_GRACE_SECONDS) -> bool:
    """Close a WebSocket whose writes are blocked: queue the close frame behind what is
    buffered (a slow reader still gets it), then cut the socket after ``grace`` seconds.

    ``send`` is the ASGI ``send`` the server gave the connection; uvicorn's is a method of its
    protocol object, whose transport this uses. Returns False where there is none (then the
    caller closes through ASGI).
    """
    protocol = getattr(send, "__self__", None)
    transport = getattr(protocol, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    conn = getattr(protocol, "conn", None)
    try:
        if conn is not None and not getattr(protocol, "close_sent", False):
            conn.send_close(code, reason)
            transport.write(b"".join(conn.data_to_send()))
            protocol.close_sent = True
    except Exception:  # the connection is already closing: cutting it is all that is left
        pass
    asyncio.get_running_loop().call_later(grace, cut, transport)
    return True


def cut(transport) -> None:
    """Close a connection at once, discarding what the peer has not read (a reset: without
    it the kernel would keep the unread bytes, and the socket, for minutes)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


# ---- WebSocket pages ------------------------------------------------------------------------


class FrameQueue:
    """One WebSocket page: a backlog of at most two messages and the task that sends them.

    ``offer`` never waits: a full state replaces the whole backlog, a frame replaces the frame
    queued after the last full state (latest frame wins). ``stalled`` says whether the backlog
    has not moved for ``stall_seconds``.
    """

    def __init__(self, ws, raw_send=None, stall_seconds: float = STALL_SECONDS):
        self.ws = ws
        self.raw_send = raw_send
        self.stall_seconds = stall_seconds
        self.backlog: collections.deque = collections.deque()  # (text, full)
        self.wake = asyncio.Event()
        self.sending = False
        self.moved = time.monotonic()  # last time the backlog moved (or became non-empty)
        self.sent = self.skipped = 0
        self.closed = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    def offer(self, text: str, full: bool = False) -> None:
        if self.closed:
            return
        if not self.backlog and not self.sending:
            self.moved = time.monotonic()
        if full:
            self.skipped += len(self.backlog)
            self.backlog.clear()
        elif self.backlog and not self.backlog[-1][1]:
            self.backlog.pop()
            self.skipped += 1
        self.backlog.append((text, full))
        self.wake.set()

    @property
    def busy(self) -> bool:
        return bool(self.backlog) or self.sending

    def stalled(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return not self.closed and self.busy and now - self.moved > self.stall_seconds

    async def _run(self) -> None:
        try:
            while not self.closed:
                await self.wake.wait()
                self.wake.clear()
                while self.backlog and not self.closed:
                    text, _ = self.backlog.popleft()
                    self.sending = True
                    await self.ws.send_text(text)
                    self.sending = False
                    self.sent += 1
                    self.moved = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:  # the page went away; the receive loop notices and cleans up
            self.closed = True

    async def close(self, code: int, reason: str) -> None:
        """Stop sending and close the page with ``code`` and ``reason`` (never waits long)."""
        if self.closed and self.task.done():
            return
        self.closed = True
        self.backlog.clear()
        self.task.cancel()
        if self.raw_send is not None and force_close(self.raw_send, code, reason):
            return
        try:
            await asyncio.wait_for(self.ws.close(code, reason), timeout=1.0)
        except Exception:  # already closed, or the close frame cannot be written
            pass


# ---- HTTP connections ----------------------------------------------------------------------


class HTTPGuard(NamedTuple):
    """The settings a guarded HTTP protocol class shares between its connections."""

    header_timeout: float
    max_connections: int
    rejections: RejectionLog
    send_buffer: int | None


def guarded_http_protocol(
    header_timeout: float = HEADER_TIMEOUT,
    max_connections: int = MAX_HTTP_CONNECTIONS,
    rejections: RejectionLog | None = None,
    send_buffer: int | None = SEND_BUFFER_BYTES,
):
    """A subclass of uvicorn's h11 protocol with a header deadline and a connection cap.

    - Request headers must be complete ``header_timeout`` seconds after the connection opens
      or after the previous response (keep-alive); otherwise the connection is closed (a
      request whose headers are in is never cut: its body has the application's deadline).
    - At most ``max_connections`` HTTP connections are open: a new one closes the oldest idle
      one; when none is idle the newcomer gets 503 and is closed.
    - Each socket's kernel send buffer is ``send_buffer`` bytes, so what a page that stops
      reading can hold up is bounded and it is noticed in seconds.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(GuardedConnection, H11Protocol):
        guard = HTTPGuard(
            header_timeout, max_connections, rejections or RejectionLog(), send_buffer
        )
        open_connections: dict = {}  # protocol -> None, oldest first

    return GuardedH11Protocol


class GuardedConnection:
    """The guards of :func:`guarded_http_protocol`, mixed in before uvicorn's ``H11Protocol``.

    The class it is mixed into sets ``guard`` (an :class:`HTTPGuard`) and ``open_connections``
    (a dict used as an ordered set of the open HTTP connections, oldest first).
    """

    guard: HTTPGuard
    open_connections: dict

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._limit_send_buffer(transport)
        self.header_timer = None
        self._arm_header_timer()
        self.open_connections[self] = None
        if len(self.open_connections) > self.guard.max_connections and not self._evict_one():
            self.guard.rejections(503, "connection", "every connection is busy")
            self._refuse_busy()

    def connection_lost(self, exc) -> None:
        self.open_connections.pop(self, None)
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _limit_send_buffer(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and self.guard.send_buffer:
            try:  # a page that stops reading fills this soon, and is then seen as stuck
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.guard.send_buffer)
            except OSError:
                pass

    # -- header deadline --
    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self.header_timer = self.loop.call_later(self.guard.header_timeout, self._header_deadline)

    def _disarm_header_timer(self) -> None:
        timer = getattr(self, "header_timer", None)
        if timer is not None:
            timer.cancel()
            self.header_timer = None

    def _idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _header_deadline(self) -> None:
        self.header_timer = None
        if self._idle() and not self.transport.is_closing():
            reason = f"no request headers within {self.guard.header_timeout:g} s"
            self.guard.rejections(408, "connection", reason)
            self.transport.abort()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before and self.cycle is not None:
            self._disarm_header_timer()  # a request arrived: its headers are complete

    def handle_websocket_upgrade(self, event) -> None:
        self._disarm_header_timer()
        self.open_connections.pop(self, None)  # from now on a page, counted with the pages
        super().handle_websocket_upgrade(event)

    def on_response_complete(self) -> None:
        import h11

        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.SEND_BODY:
            # Answered before the body was read (413, 403...): close instead of reading
            # and discarding what may be a gigabyte still on its way.
            self.transport.close()
            return
        if self._idle():
            self._arm_header_timer()

    def send_400_response(self, msg: str) -> None:
        self.guard.rejections(400, "request", msg)
        super().send_400_response(msg)

    # -- connection cap --
    def _evict_one(self) -> bool:
        for other in self.open_connections:
            if other is not self and other._idle():
                self.open_connections.pop(other, None)
                other._disarm_header_timer()
                other.transport.abort()
                return True
        return False

    def _refuse_busy(self) -> None:
        # No request has arrived yet, so h11 would not send a response: write it raw.
        body = b'{"error": "the server is busy; try again in a moment"}'
        head = (
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"retry-after: 1\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % len(body)
        )
        self.open_connections.pop(self, None)
        self._disarm_header_timer()
        self.transport.write(head + body)
        self.transport.close()


# ---- requests -------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """The request body is over its limit (answered with 413)."""


async def read_body(request, limit: int, timeout: float = BODY_TIMEOUT) -> bytes:
    """The request body, refused (:class:`BodyTooLarge`) as soon as it passes ``limit`` bytes:
    ``Content-Length`` is checked before reading, then the bytes are counted as they stream.
    A body that takes longer than ``timeout`` seconds is refused too (TimeoutError)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge(f"the request body is larger than {limit} bytes")
    chunks = []

    async def collect() -> None:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the request body is larger than {limit} bytes")
            chunks.append(chunk)

    await asyncio.wait_for(collect(), timeout)
    return b"".join(chunks)


def _json_response(status: int, message: str):
    body = json.dumps({"error": message}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class ShieldMiddleware:
    """The outermost guard: bodies over ``body_limit(path)`` refused by ``Content-Length``
    with 413 before the route runs; any exception answered with a JSON error page (HTTP) or a
    close frame with code 1011 and a reason (WebSocket), logged as one rate-limited line. The
    raw ASGI ``send`` is kept in ``scope["chainrule.raw_send"]`` for :func:`force_close`."""

    def __init__(self, app, body_limit=None, rejections: RejectionLog | None = None):
        self.app = app
        self.body_limit = body_limit or (lambda path: DEFAULT_BODY_LIMIT)
        self.rejections = rejections or RejectionLog()
        self.loop_handler_set = False

    def _quiet_loop(self) -> None:
        """Rate-limit what the event loop itself logs (e.g. ``accept`` failing when every
        descriptor is in use), instead of one traceback per failure."""
        if self.loop_handler_set:
            return
        self.loop_handler_set = True
        limiter = RejectionLog(rate=1.0, burst=5)

        def handler(loop, context):
            if limiter.allow():
                exc = context.get("exception")
                detail = f" ({type(exc).__name__}: {exc})" if exc else ""
                log.error("event loop: %s%s", context.get("message", "error"), detail)

        asyncio.get_running_loop().set_exception_handler(handler)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        self._quiet_loop()
        scope["chainrule.raw_send"] = send
        what = f"{scope.get('method', 'WS')} {scope.get('path', '')[:100]}"
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        if scope["type"] == "http":
            limit = self.body_limit(scope.get("path", ""))
            for key, value in scope.get("headers", []):
                if key == b"content-length":
                    if not value.isdigit() or int(value) > limit:
                        reason = f"the request body is larger than {limit} bytes"
                        self.rejections(413, what, reason)
                        for message in _json_response(413, reason):
                            await send(message)
                        return
        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            self.rejections(500, what, f"{type(exc).__name__}: {exc}")
            if started:
                return
            if scope["type"] == "http":
                for message in _json_response(500, f"internal error: {type(exc).__name__}"):
                    await send(message)
            else:
                await send({"type": "websocket.close", "code": 1011, "reason": "internal error"})
