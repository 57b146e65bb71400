"""A bounded abuse scenario against a real playground server (loopback only), for the tests in
test_playground_abuse.py and for the full-size run recorded in docs/reliability.md::

    PYTHONPATH=src python tests/playground/abuse.py --clients 200 --idle 1100 --seconds 10

The server runs in a subprocess (so its memory can be read from /proc). While it serves:
``clients`` WebSocket pages read frames, one page never reads, ``idle`` connections are opened
and left silent, and a maximal ``/api/step`` (1,000 epochs of batch-size-1 training on 1,000
samples) is in flight; ``GET /`` is timed every ``interval`` seconds. Then the step is cancelled
with ``/api/pause`` and the server is checked to serve normally. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

SERVER = """
import sys, logging
logging.basicConfig(format="%(relativeCreated)d %(name)s %(message)s")
from chainrule.playground.server import make_server
from chainrule.playground.session import Session
from chainrule.playground.validation import Config
header_timeout, stall, cap = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
session = Session(Config(samples=1000, batch_size=1))
server, sock, url = make_server("127.0.0.1", 0, session, header_timeout=header_timeout,
                                stall_seconds=stall, max_connections=cap or None)
print(url, flush=True)
server.run(sockets=[sock])
"""


PROBE = """
import json, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
seconds, interval = float(sys.argv[3]), float(sys.argv[4])
request = f"GET / HTTP/1.1\\r\\nHost: {host}:{port}\\r\\nConnection: close\\r\\n\\r\\n".encode()
times, statuses = [], []
end = time.monotonic() + seconds
while time.monotonic() < end:
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    times.append(time.perf_counter() - started)
    statuses.append(int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0)
    time.sleep(interval)
print(json.dumps({"times": times, "statuses": statuses}))
"""


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def start_server(
    header_timeout: float = 30.0, stall: float = 3.0, max_connections: int = 0, fds: int = 0
):
    """The server in a subprocess: ``(proc, host, port)``; ``fds``: a hard descriptor limit
    to run it under (0: the inherited one); its log is ``proc.log``."""
    code = SERVER
    if fds:
        code = f"import resource; resource.setrlimit(resource.RLIMIT_NOFILE, ({fds}, {fds}))\n"
        code += SERVER
    log = tempfile.TemporaryFile("w+")  # the server's log: a file, so it can never block it
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(header_timeout), str(stall), str(max_connections)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    proc.log = log
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        log.seek(0)
        raise RuntimeError(f"the server did not start: {log.read()[-2000:]}")
    host, port = url[len("http://") :].rstrip("/").split(":")
    return proc, host, int(port)


async def http(host, port, method, path, body=None, timeout=5.0):
    """``(status, body bytes, seconds)`` of one request on a fresh connection."""
    started = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
            f"Origin: http://{host}:{port}\r\n"
        )
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        writer.write(head.encode() + b"\r\n" + data)
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
    return status, raw.partition(b"\r\n\r\n")[2], time.perf_counter() - started


async def reading_client(url, counts, index, stop):
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None, open_timeout=20, origin=url.replace("ws", "http", 1)
                       .rsplit("/", 1)[0]) as ws:  # fmt: skip
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(decode=False), 0.5)
            except TimeoutError:
                continue
            counts[index] += 1


def never_reading_client(host, port) -> socket.socket:
    """A WebSocket handshake, then silence: this page never reads a byte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n\r\n"
        ).encode()
    )
    return sock


def open_idle(host, port, count) -> list:
    idle = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        idle.append(s)
    return idle


def wait_gone(sock: socket.socket, timeout: float) -> float | None:
    """Seconds until the server cuts ``sock`` (seen without reading from it, which would make
    it a reader), None if it did not within ``timeout``."""
    poller = select.poll()
    poller.register(sock, select.POLLERR | select.POLLHUP | getattr(select, "POLLRDHUP", 0))
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if poller.poll(200):
            return time.monotonic() - started
    return None


async def scenario(clients=40, idle=300, seconds=4.0, interval=0.02, stall=3.0):
    from chainrule.playground.transport import raise_descriptor_limit

    raise_descriptor_limit(8192)
    proc, host, port = start_server(stall=stall)
    result = {"clients": clients, "idle": idle, "seconds": seconds}
    sockets = []
    try:
        for _ in range(20):  # warm up: imports, first frames
            status, _, _ = await http(host, port, "GET", "/")
            assert status == 200
        base_rss = rss_bytes(proc.pid)
        stop = asyncio.Event()
        counts = [0] * clients
        url = f"ws://{host}:{port}/ws"
        tasks = (reading_client(url, counts, i, stop) for i in range(clients))
        readers = [asyncio.create_task(t) for t in tasks]
        slow = never_reading_client(host, port)
        sockets = [slow, *open_idle(host, port, idle)]
        step = asyncio.create_task(
            http(host, port, "POST", "/api/step", {"unit": "epoch", "count": 1000}, timeout=600)
        )
        await asyncio.sleep(1.0)  # everyone connected, the step running
        before = list(counts)
        # GET / is timed from its own process, so the load generator's busy event loop here
        # does not count as the server's latency.
        prober = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROBE, host, str(port), str(seconds), str(interval),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        peak_rss = base_rss
        probing = asyncio.create_task(prober.communicate())
        while not probing.done():
            peak_rss = max(peak_rss, rss_bytes(proc.pid))
            await asyncio.sleep(0.1)
        probed = json.loads((await probing)[0])
        latencies, statuses = probed["times"], set(probed["statuses"])
        during = [c - b for c, b in zip(counts, before)]
        assert not step.done(), "the maximal step finished early"
        status, body, elapsed = await http(host, port, "POST", "/api/pause", {})
        result["pause_status"] = status
        step_status, step_body, _ = await asyncio.wait_for(step, 10)
        result["step_status"] = step_status
        result["step_cancelled"] = json.loads(step_body).get("cancelled", False)
        result["slow_client_dropped_after_s"] = wait_gone(slow, stall + 10)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*readers, return_exceptions=True), 10)
        latencies.sort()
        result.update(
            probes=len(latencies),
            statuses=sorted(statuses),
            p50_ms=1000 * latencies[len(latencies) // 2],
            p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            max_ms=1000 * latencies[-1],
            frames_min=min(during),
            frames_median=sorted(during)[len(during) // 2],
            rss_base_mb=base_rss / 1e6,
            rss_growth_mb=(peak_rss - base_rss) / 1e6,
        )
        for s in sockets:
            s.close()
        sockets = []
        after = [await http(host, port, "GET", "/api/state") for _ in range(5)]
        result["after_statuses"] = sorted({a[0] for a in after})
        result["after_max_ms"] = 1000 * max(a[2] for a in after)
        status, body, _ = await http(host, port, "POST", "/api/step", {"unit": "batch"})
        result["after_step"] = (status, json.loads(body).get("step"))
    finally:
        for s in sockets:
            s.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--idle", type=int, default=1100)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    result = asyncio.run(scenario(args.clients, args.idle, args.seconds))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
