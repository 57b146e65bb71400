"""Under abuse: one bad client cannot stall the playground (issue 14).

The heaviest proof runs a real server on loopback with reading pages, a page that never reads,
idle connections and a maximal ``/api/step`` (see abuse.py); by default at reduced size (40
pages, 300 idle connections, 4 s), with ``CHAINRULE_FULL_RELIABILITY=1`` at full size (200
pages, 1,100 idle connections, 10 s). Every test stops by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the playground extra (uvicorn) is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402
    from starlette.websockets import WebSocketDisconnect  # noqa: E402

from chainrule.playground import transport  # noqa: E402
from chainrule.playground.server import create_app  # noqa: E402
from chainrule.playground.session import Session  # noqa: E402
from chainrule.playground.validation import Config  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import abuse  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:Using `httpx` with"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, uses poll"),
]
FULL = os.environ.get("CHAINRULE_FULL_RELIABILITY") == "1"
BASE = "http://testserver"
OWN = {"Origin": BASE}


def need_descriptors(count: int) -> None:
    soft = transport.raise_descriptor_limit(8192)
    if soft is not None and soft < count:
        pytest.skip(f"needs {count} file descriptors; the limit here is {soft}")


@pytest.fixture
def client():
    app = create_app(Session(Config(samples=40, hidden=(3,))))
    with TestClient(app, base_url=BASE) as c:
        yield c


# ---- the proof ------------------------------------------------------------------------------


def test_one_bad_client_cannot_stall_the_server():
    clients, idle, seconds = (200, 1100, 10.0) if FULL else (40, 300, 4.0)
    need_descriptors(2 * (clients + idle) + 100)  # both ends of each connection live here
    result = asyncio.run(abuse.scenario(clients, idle, seconds))
    print(result)
    assert result["statuses"] == [200] and result["probes"] > 20
    assert result["p99_ms"] < 100, result  # GET / while all of it goes on
    assert result["frames_min"] >= 3, result  # every reading page kept getting frames
    assert result["rss_growth_mb"] < 50, result
    assert result["step_status"] == 200 and result["step_cancelled"]  # /api/pause stopped it
    assert result["slow_client_dropped_after_s"] is not None, result  # the silent page was cut
    assert result["after_statuses"] == [200] and result["after_step"][0] == 200


@pytest.fixture(scope="module")
def server():
    proc, host, port = abuse.start_server(header_timeout=1.0, stall=2.0, max_connections=64)
    yield host, port, proc
    proc.terminate()
    proc.wait(timeout=10)


def test_a_1_gib_post_is_refused_before_it_is_read(server):
    host, port, proc = server
    before = abuse.rss_bytes(proc.pid)
    for path in ("/api/config", "/api/upload", "/api/step"):
        with socket.create_connection((host, port), timeout=5) as s:  # declared: refused unread
            s.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {1 << 30}\r\n\r\n".encode()
            )
            s.sendall(b"[" * 65536)
            assert s.recv(4096).startswith(b"HTTP/1.1 413 ")
    with socket.create_connection((host, port), timeout=5) as s:  # chunked: cut while streaming
        s.sendall(
            f"POST /api/config HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
            f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
        sent = 0
        try:
            while sent < 1 << 30:
                s.sendall(chunk)
                sent += 1 << 20
        except OSError:  # the server answered and closed: the rest is never sent
            pass
        assert sent < 64 << 20
        assert s.recv(4096).startswith(b"HTTP/1.1 413 ")
    assert abuse.rss_bytes(proc.pid) - before < 10e6


def test_when_every_connection_is_busy_a_newcomer_gets_503(server):
    host, port, _ = server
    busy = []
    try:
        for _ in range(70):  # cap 64: each holds a request whose body never comes
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(
                f"POST /api/upload HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Origin: http://{host}:{port}\r\nContent-Length: 1000\r\n\r\n".encode()
            )
            busy.append(s)
        time.sleep(0.3)
        with socket.create_connection((host, port), timeout=5) as s:
            reply = s.recv(4096)
        assert reply.startswith(b"HTTP/1.1 503 ") and b"busy" in reply
    finally:
        for s in busy:
            s.close()
    time.sleep(0.3)
    status, _, _ = asyncio.run(abuse.http(host, port, "GET", "/api/options"))
    assert status == 200


def test_more_idle_connections_than_descriptors():
    """Under a hard limit of 256 descriptors, 1,100 idle connections: the limit is shared out
    (128 connections, accepts in batches of 16), so `accept` never fails, the server answers
    every request and logs nothing."""
    need_descriptors(1300)
    proc, host, port = abuse.start_server(fds=256)
    idle = []
    try:
        assert asyncio.run(abuse.http(host, port, "GET", "/"))[0] == 200
        idle = abuse.open_idle(host, port, 1100)
        time.sleep(0.5)
        probes = [asyncio.run(abuse.http(host, port, "GET", "/")) for _ in range(20)]
        assert {p[0] for p in probes} == {200}
        assert max(p[2] for p in probes) < 1.0  # no 1 s SYN retry: the queue keeps draining
    finally:
        for s in idle:
            s.close()
        proc.terminate()
        proc.wait(timeout=10)
    proc.log.seek(0)
    assert "Too many open files" not in proc.log.read()


def test_oversized_headers_get_400(server):
    """Headers still arriving past 16 KiB are refused (h11's incomplete-event limit)."""
    host, port, _ = server
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
        for _ in range(5):
            s.sendall(b"X-Big: " + b"a" * 4000 + b"\r\n")
            time.sleep(0.02)
        assert s.recv(4096).startswith(b"HTTP/1.1 400 ")


def test_a_step_whose_client_went_away_stops(server):
    host, port, _ = server

    def step_count():
        status, body, _ = asyncio.run(abuse.http(host, port, "GET", "/api/state", timeout=10))
        assert status == 200
        return json.loads(body)["step"]

    with socket.create_connection((host, port), timeout=5) as s:
        body = json.dumps({"unit": "epoch", "count": 1000}).encode()
        s.sendall(
            f"POST /api/step HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(0.5)
    first = step_count()
    time.sleep(0.3)  # the step notices within a slice
    settled = step_count()
    time.sleep(0.5)
    assert first > 0 and step_count() == settled


def test_idle_and_trickling_connections_are_closed_at_the_header_deadline(server):
    host, port, _ = server
    idle = [socket.create_connection((host, port), timeout=5) for _ in range(20)]
    trickle = socket.create_connection((host, port), timeout=5)
    started = time.monotonic()
    trickle.sendall(b"GET / HTTP/1.1\r\n")
    while time.monotonic() - started < 1.8:
        try:
            trickle.sendall(b"X-Slow: 1\r\n")
        except OSError:
            break
        time.sleep(0.2)
    for s in [*idle, trickle]:
        s.settimeout(3)
        try:
            assert s.recv(100) == b""  # closed by the server, nothing sent
        except ConnectionResetError:
            pass
        s.close()
    assert time.monotonic() - started < 4.5


def test_connection_cap_keeps_the_server_reachable(server):
    host, port, _ = server
    idle = [socket.create_connection((host, port), timeout=5) for _ in range(150)]  # cap: 64
    try:
        status, body, elapsed = asyncio.run(abuse.http(host, port, "GET", "/api/options"))
        assert status == 200 and b"limits" in body
        closed = 0
        for s in idle[:40]:  # the oldest idle ones made room
            s.settimeout(0.5)
            try:
                closed += s.recv(100) == b""
            except ConnectionResetError:
                closed += 1
            except TimeoutError:
                pass
        assert closed >= 30
    finally:
        for s in idle:
            s.close()


# ---- malformed messages ---------------------------------------------------------------------


def test_binary_websocket_message_gets_a_close_frame(client):
    with client.websocket_connect("/ws", headers=OWN) as ws:
        assert ws.receive_json()["step"] == 0
        ws.send_bytes(b"\x00\x01")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 1003 and "binary" in info.value.reason
    assert client.get("/api/state").status_code == 200


@pytest.mark.parametrize(
    "body, words",
    [
        (b"[" * 30_000 + b"]" * 30_000, "nests deeper"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nests deeper"),
        (b"\xef\xbb\xbf", "not valid JSON"),
        (b'{"unit": "batch"', "not valid JSON"),
    ],
)
def test_malformed_json_is_400(client, body, words):
    r = client.post("/api/step", content=body, headers={**OWN, "Content-Type": "application/json"})
    assert r.status_code == 400 and words in r.json()["error"]


@pytest.mark.parametrize(
    "data", [b"\xef\xbb\xbf", b"\xef\xbb\xbf \n\n", b"\xef\xbb\xbf\xef\xbb\xbf"]
)
def test_bom_only_upload_is_400(client, data):
    r = client.post("/api/upload", content=data, headers={**OWN, "Content-Type": "text/csv"})
    assert r.status_code == 400, r.text
    assert client.get("/api/state").json()["config"]["dataset"] == "moons"


def test_body_over_the_limit_is_413_by_content_length(client):
    r = client.post(
        "/api/config",
        content=b"{" + b" " * (70 * 1024) + b"}",
        headers={**OWN, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "larger than" in r.json()["error"]


def test_an_error_is_a_json_page_and_one_log_line(client, caplog):
    app_pg = client.app.state.playground
    original = app_pg.session.frame
    app_pg.session.frame = lambda full=False: {}["missing"]
    try:
        with caplog.at_level(logging.WARNING, logger="chainrule.playground"):
            r = client.get("/api/state")
    finally:
        app_pg.session.frame = original
    assert r.status_code == 500 and r.json()["error"].startswith("internal error: KeyError")
    lines = [rec for rec in caplog.records if rec.name == "chainrule.playground"]
    assert len(lines) == 1 and lines[0].exc_info is None and "KeyError" in lines[0].getMessage()


# ---- the parts -------------------------------------------------------------------------------


def test_rejection_log_is_rate_limited(caplog):
    log = transport.RejectionLog(rate=2.0, burst=3)
    with caplog.at_level(logging.WARNING, logger="chainrule.playground"):
        for i in range(100):
            log(400, "POST /api/x", f"bad {i}")
    assert log.total == 100 and 3 <= len(caplog.records) <= 4
    time.sleep(0.6)
    with caplog.at_level(logging.WARNING, logger="chainrule.playground"):
        log(400, "POST /api/x", "later")
    assert "more not logged" in caplog.records[-1].getMessage()


class BlockedSocket:
    """A page whose socket never drains: every send waits forever."""

    def __init__(self):
        self.sent, self.closed_with = [], None

    async def send_text(self, text):
        self.sent.append(text)
        await asyncio.Event().wait()

    async def close(self, code, reason):
        self.closed_with = (code, reason)


def test_frame_queue_latest_wins_and_stuck_pages_are_closed():
    async def scenario():
        ws = BlockedSocket()
        q = transport.FrameQueue(ws, stall_seconds=0.3)
        q.offer("full-0", full=True)
        await asyncio.sleep(0.05)  # now blocked sending full-0
        for i in range(1000):
            q.offer(f"frame-{i}")
            assert len(q.backlog) <= 2
        assert [t for t, _ in q.backlog] == ["frame-999"] and q.skipped == 999
        q.offer("full-1", full=True)
        q.offer("frame-x")
        assert [t for t, _ in q.backlog] == ["full-1", "frame-x"]
        assert not q.stalled()
        await asyncio.sleep(0.4)
        assert q.stalled()
        await q.close(1008, "not reading")
        assert ws.closed_with == (1008, "not reading") and q.task.cancelled() or q.task.done()

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_a_long_step_is_cancelled_by_pause(client):
    import threading

    client.post("/api/config", json={"samples": 1000, "batch_size": 1}, headers=OWN)
    result = {}

    def long_step():
        r = client.post("/api/step", json={"unit": "epoch", "count": 1000}, headers=OWN)
        result["r"] = r

    thread = threading.Thread(target=long_step)
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)
    assert client.get("/api/state").status_code == 200  # answered while the step runs
    assert client.post("/api/pause", json={}, headers=OWN).status_code == 200
    thread.join(20)
    assert not thread.is_alive() and time.monotonic() - started < 20
    frame = result["r"].json()
    assert result["r"].status_code == 200 and frame["cancelled"] is True
    assert 0 < frame["epoch"] < 1000


def test_play_takes_over_from_a_long_step_and_pause_play_pause_works(client):
    import threading

    client.post("/api/config", json={"samples": 1000, "batch_size": 1}, headers=OWN)
    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault(
            "r", client.post("/api/step", json={"unit": "epoch", "count": 1000}, headers=OWN)
        )
    )
    thread.start()
    time.sleep(0.3)
    assert client.post("/api/play", json={}, headers=OWN).json()["playing"] is True
    thread.join(20)
    assert result["r"].json()["cancelled"] is True
    for _ in range(3):  # quick pause/play cycles never leave it "playing" without a loop
        client.post("/api/pause", json={}, headers=OWN)
        client.post("/api/play", json={}, headers=OWN)
    first = client.get("/api/state").json()["step"]
    time.sleep(0.3)
    assert client.get("/api/state").json()["step"] > first
    paused = client.post("/api/pause", json={}, headers=OWN).json()
    time.sleep(0.2)
    assert paused["playing"] is False
    assert client.get("/api/state").json()["step"] == paused["step"]


def test_extra_routes_are_registered_with_the_playground():
    from starlette.routing import Route

    from chainrule.playground.server import guarded, reply

    def make(pg):
        async def steps(request):
            return reply({"step": await pg.run(lambda: pg.session.step_count)})

        return [Route("/api/extra", guarded(steps))]

    app = create_app(Session(Config(samples=20)), extra_routes=[make])
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/api/extra").json() == {"step": 0}
