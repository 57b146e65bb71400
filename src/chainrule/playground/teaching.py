"""The playground's teaching requests: a neuron's numbers for one sample, and a weight set by
hand.

They live apart from ``server.py`` (which owns the transport: the page, the WebSocket, the
guards) and are added to its routes by :func:`routes`, with the server's own JSON helpers, so
they are checked and answered exactly like every other request.
"""

from __future__ import annotations


def routes(pg) -> list:
    """Starlette routes for ``/api/probe`` and ``/api/weight``.

    Args:
        pg: the server's ``Playground``; the session is touched only through ``pg.run`` (the
            worker thread), never on the event loop.
    """
    from starlette.routing import Route

    from chainrule.playground.http import body_json, guarded, reply

    async def probe(request):
        """One sample's forward pass: each neuron's inputs, weights, z and a."""
        body = await body_json(request, ("sample", "split"))
        return reply(
            await pg.run(pg.session.probe, body.get("sample", 0), body.get("split", "train"))
        )

    async def weight(request):
        """Set one weight or bias: ``{"param": "0.weight", "index": [j, i], "value": v}``;
        answers (and broadcasts) the new frame: boundary, loss and network at once."""
        body = await body_json(request, ("param", "index", "value"))
        missing = [k for k in ("param", "index", "value") if k not in body]
        if missing:
            from chainrule.playground.validation import ValidationError

            raise ValidationError(
                f"missing {', '.join(missing)}: send {{'param': '0.weight', 'index': [row, col], "
                f"'value': 0.5}}"
            )
        await pg.pause()  # a hand-set weight is not overwritten by a running training slice
        await pg.run(pg.session.set_parameter, body["param"], body["index"], body["value"])
        frame = await pg.run(pg.state)
        await pg.broadcast(frame)
        return reply(frame)

    return [
        Route("/api/probe", guarded(probe), methods=["POST"]),
        Route("/api/weight", guarded(weight), methods=["POST"]),
    ]
