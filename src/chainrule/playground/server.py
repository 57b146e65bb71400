"""The playground's web server: Starlette routes, a WebSocket for live frames, uvicorn to serve.

All training runs here, on the chainrule engine, inside the server's event loop: requests and
the play loop take turns, so the session never sees two changes at once. Security: the server
listens on loopback unless told otherwise; requests whose ``Origin`` is not the page's own, or
whose ``Host`` is not one this server answers to, get 403; uploads are capped; every setting is
checked (HTTP 400 with a sentence that says what is wrong); an error in a request never stops
the server.

Starlette and uvicorn are imported here only, so ``import chainrule`` does not need them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from importlib import resources

from chainrule.errors import ChainruleError, NonFiniteError
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

TICK_SECONDS = 0.05  # training time per frame while playing
FRAME_PAUSE = 0.02  # idle time between frames, for requests and the page
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _missing_extra(err: ImportError) -> ImportError:
    return ImportError(
        f"the playground needs Starlette and uvicorn ({err.name} is missing); install them with "
        f"pip install 'chainrule[playground]'"
    )


class Playground:
    """The state one server shares between its routes: the session, the play loop, the pages
    connected over WebSocket."""

    def __init__(self, session: Session | None = None):
        self.session = session or Session()
        self.playing = False
        self.clients: set = set()
        self.task = None
        self.frames_sent = 0

    async def broadcast(self, message: dict) -> None:
        text = json.dumps(message, allow_nan=False, default=_json_default)
        for ws in list(self.clients):
            try:
                await ws.send_text(text)
            except Exception:  # a closed tab: forget it
                self.clients.discard(ws)
        self.frames_sent += 1

    def state(self, full: bool = False) -> dict:
        frame = self.session.frame(full=full)
        frame["playing"] = self.playing
        return frame

    async def play_loop(self) -> None:
        try:
            while self.playing:
                started = time.perf_counter()
                try:
                    while self.playing and time.perf_counter() - started < TICK_SECONDS:
                        self.session.step()
                except NonFiniteError:
                    self.playing = False
                await self.broadcast(self.state())
                await asyncio.sleep(FRAME_PAUSE)
        finally:
            self.playing = False
            self.task = None

    def play(self) -> None:
        if self.session.error:
            raise ValidationError(self.session.error)
        self.playing = True
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.play_loop())

    async def pause(self) -> None:
        self.playing = False
        if self.task is not None:
            task = self.task
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5)
            except Exception:
                pass


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


def create_app(session: Session | None = None, allowed_hosts=None, max_upload: int | None = None):
    """The Starlette application (``allowed_hosts``: the ``Host`` values accepted, e.g.
    ``{"127.0.0.1:8000", "localhost:8000"}``; ``None`` accepts any)."""
    try:
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, Response
        from starlette.routing import Route, WebSocketRoute
        from starlette.websockets import WebSocket, WebSocketDisconnect
    except ImportError as err:
        raise _missing_extra(err) from None

    pg = Playground(session)
    cap = MAX_UPLOAD_BYTES if max_upload is None else int(max_upload)
    assets = resources.files("chainrule.playground") / "assets"

    def reply(data, status: int = 200) -> Response:
        text = json.dumps(data, allow_nan=False, default=_json_default)
        return Response(text, status, media_type="application/json", headers=SECURITY_HEADERS)

    def error(message: str, status: int = 400) -> Response:
        return reply({"error": message}, status)

    async def body_json(request: Request, allowed: tuple | None):
        if "application/json" not in request.headers.get("content-type", ""):
            raise ValidationError("send the request body as JSON (Content-Type: application/json)")
        raw = await request.body()
        if len(raw) > 64 * 1024:
            raise ValidationError("the request body is too large (64 KiB at most)")
        try:
            data = json.loads(raw or b"{}")
        except ValueError as err:
            raise ValidationError(f"the request body is not valid JSON ({err})") from None
        return data if allowed is None else request_object(data, allowed)

    def guarded(handler):
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except ValidationError as err:
                return error(str(err))
            except NonFiniteError as err:
                return error(str(err), 409)
            except ChainruleError as err:
                return error(str(err))
            except Exception as err:  # the server stays up; the page shows the message
                log.exception("playground request failed")
                return error(f"internal error: {type(err).__name__}: {err}", 500)

        return wrapped

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
        return reply(pg.state(full=True))

    async def configure(request: Request) -> Response:
        body = await body_json(request, None)
        cfg = validate_config(body, pg.session.cfg)
        await pg.pause()
        pg.session.configure(cfg)  # raises ValidationError before touching the session
        frame = pg.state(full=True)
        await pg.broadcast(frame)
        return reply(frame)

    async def reset(request: Request) -> Response:
        await pg.pause()
        pg.session.reset()
        frame = pg.state(full=True)
        await pg.broadcast(frame)
        return reply(frame)

    async def play(request: Request) -> Response:
        pg.play()
        return reply({"playing": True, "step": pg.session.step_count})

    async def pause(request: Request) -> Response:
        await pg.pause()
        frame = pg.state()
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
        await pg.pause()
        try:
            for _ in range(count):
                if unit == "batch":
                    pg.session.step()
                else:
                    pg.session.step_epoch()
        finally:
            frame = pg.state()
            await pg.broadcast(frame)
        return reply(frame)

    async def explain(request: Request) -> Response:
        body = await body_json(request, ("param", "index", "sample", "split"))
        if "param" not in body or "index" not in body:
            raise ValidationError("say which weight: {'param': '0.weight', 'index': [row, col]}")
        data = pg.session.explain(
            body["param"], body["index"], body.get("sample", 0), body.get("split", "train")
        )
        return reply(data)

    async def trace(request: Request) -> Response:
        body = await body_json(request, ("sample", "split"))
        return reply(pg.session.trace(body.get("sample", 0), body.get("split", "train")))

    async def upload(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            return error(f"the upload is larger than {cap} bytes; send a smaller CSV", 413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                return error(f"the upload is larger than {cap} bytes; send a smaller CSV", 413)
            chunks.append(chunk)
        try:
            text = b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("the uploaded file is not UTF-8 text") from None
        target = request.query_params.get("target") or None
        filename = (request.query_params.get("filename") or "upload.csv")[:100]
        up = parse_upload(text, target, filename)
        await pg.pause()
        previous = pg.session.upload
        pg.session.upload = up
        try:
            pg.session.configure(validate_config({"dataset": "upload"}, pg.session.cfg))
        except Exception:
            pg.session.upload = previous
            raise
        frame = pg.state(full=True)
        await pg.broadcast(frame)
        return reply(frame)

    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        pg.clients.add(ws)
        try:
            await ws.send_text(json.dumps(pg.state(full=True), default=_json_default))
            while True:
                await ws.receive_text()  # the page only listens; anything sent is ignored
        except WebSocketDisconnect:
            pass
        finally:
            pg.clients.discard(ws)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
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
    from chainrule.playground import teaching

    routes += teaching.routes(pg, guarded, body_json, reply)
    app = Starlette(
        routes=routes,
        middleware=[Middleware(GuardMiddleware, allowed_hosts=allowed_hosts)],
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
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def make_server(host: str = "127.0.0.1", port: int = 0, session: Session | None = None):
    """``(server, sock, url)``: a uvicorn server bound to ``host:port`` (not yet running)."""
    try:
        import uvicorn
    except ImportError as err:
        raise _missing_extra(err) from None
    sock = bind(host, port)
    port = sock.getsockname()[1]
    app = create_app(session, allowed_hosts=hosts_for(host, port))
    config = uvicorn.Config(app, log_level="warning", ws_max_size=1 << 16, lifespan="off")
    server = uvicorn.Server(config)
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
