"""The playground's routes, in groups: the page and its assets, running the session, looking
inside one weight or sample, uploading a CSV, and the WebSocket of live frames.

Every group is a function ``(pg, ...) -> list of Starlette routes``; :func:`api_routes` joins
them. Handlers touch the session only through ``await pg.run(fn, *args)`` (the worker thread).
"""

from __future__ import annotations

from importlib import resources

from chainrule.errors import ChainruleError
from chainrule.playground import transport
from chainrule.playground.data import decode_upload, parse_upload
from chainrule.playground.http import (
    SECURITY_HEADERS,
    body_json,
    error,
    guarded,
    reply,
    transport_rejections,
)
from chainrule.playground.validation import (
    Config,
    ValidationError,
    limits,
    validate_config,
)

__all__ = [
    "api_routes",
    "inspect_routes",
    "page_routes",
    "run_routes",
    "socket_routes",
    "upload_routes",
]


def page_routes() -> list:
    """The page, its assets and an empty favicon."""
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    assets = resources.files("chainrule.playground") / "assets"

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

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    return [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/assets/{name}", asset),
    ]


def run_routes(pg) -> list:
    """Settings, state, and training: configure, reset, play, pause, step."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

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

    return [
        Route("/api/options", guarded(options)),
        Route("/api/state", guarded(state)),
        Route("/api/config", guarded(configure), methods=["POST"]),
        Route("/api/reset", guarded(reset), methods=["POST"]),
        Route("/api/play", guarded(play), methods=["POST"]),
        Route("/api/pause", guarded(pause), methods=["POST"]),
        Route("/api/step", guarded(step), methods=["POST"]),
    ]


def inspect_routes(pg) -> list:
    """One weight's chain-rule explanation and one sample's trace through the network."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

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

    return [
        Route("/api/explain", guarded(explain), methods=["POST"]),
        Route("/api/trace", guarded(trace), methods=["POST"]),
    ]


def upload_routes(pg, cap: int) -> list:
    """A CSV upload (at most ``cap`` bytes) that becomes the session's dataset."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def upload(request: Request) -> Response:
        try:
            raw = await transport.read_body(request, cap)
        except transport.BodyTooLarge:
            return error(f"the upload is larger than {cap} bytes; send a smaller CSV", 413)
        target = request.query_params.get("target") or None
        filename = (request.query_params.get("filename") or "upload.csv")[:100]
        text = await pg.run(decode_upload, raw, filename)  # Excel's encodings, as train reads
        if not text.strip():
            raise ValidationError("the uploaded file is empty")
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

    return [Route("/api/upload", guarded(upload), methods=["POST"])]


def socket_routes(pg) -> list:
    """The WebSocket each page listens on for frames."""
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

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

    return [WebSocketRoute("/ws", websocket)]


def api_routes(pg, cap: int) -> list:
    """The page, its assets, the JSON API and the WebSocket, for ``pg`` (a ``Playground``)."""
    return [
        *page_routes(),
        *run_routes(pg),
        *inspect_routes(pg),
        *upload_routes(pg, cap),
        *socket_routes(pg),
    ]
