"""The playground's HTTP helpers: JSON replies with security headers, request bodies read
with limits, the wrapper that turns every error into an answer, and the Origin/Host guard.

Route modules (``routes.py``, ``teaching.py``) use :func:`reply`, :func:`error`,
:func:`guarded` and :func:`body_json`.
"""

from __future__ import annotations

import json

from chainrule.errors import ChainruleError, NonFiniteError
from chainrule.playground import transport
from chainrule.playground.validation import ValidationError, request_object

__all__ = [
    "MAX_REQUEST_BYTES",
    "MAX_REQUEST_DEPTH",
    "SECURITY_HEADERS",
    "GuardMiddleware",
    "body_json",
    "error",
    "guarded",
    "json_default",
    "reply",
    "transport_rejections",
]

MAX_REQUEST_BYTES = 64 * 1024  # JSON request bodies
MAX_REQUEST_DEPTH = 32  # JSON nesting in request bodies

transport_rejections = transport.RejectionLog()


def json_default(value):
    """NumPy scalars and arrays as JSON numbers and lists."""
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

    text = json.dumps(data, allow_nan=False, default=json_default)
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
