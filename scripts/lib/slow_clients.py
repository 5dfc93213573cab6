"""Slow and idle clients against a running console, loopback only, bounded in count and time.

    slow_clients.py test BASE N HEAD KEEP_ALIVE
        N connections, a third each: idle after connecting, trickling a request head one byte
        every half second, trickling a form body the same way. Meanwhile a normal client asks
        /healthz every 50 ms and a steady upload sends 20 KB at 4 KB/s. Fails unless every slow
        connection is closed by the server within its limit (idle and head: HEAD seconds — a new
        connection has the head's time to send a request —; body: 408 within 2 × HEAD), none
        of them before its limit, every /healthz answers within 1 s, and the steady upload gets
        an answer that is not 408. (KEEP_ALIVE, between requests, is tested in-process.)

    slow_clients.py exhaust BASE N
        Against a server with fewer file descriptors than N: opens N idle connections (some wait
        unaccepted: the server's accept fails with EMFILE), then closes them and asks /healthz,
        which must answer within 5 s: running out of descriptors did not end the accept loop.

    slow_clients.py hold BASE N SECONDS
        Keeps N slow connections open for SECONDS (reopening those the server closes), for a
        benchmark to measure the server meanwhile. Prints how many the server closed.
"""

import asyncio
import resource
import selectors
import socket
import sys
import time
from urllib.parse import urlsplit

TRICKLE_EVERY = 0.5
# Holding for a benchmark, a byte a second: the slow clients of the issue, and less of this
# machine's CPU spent by the clients themselves.
HOLD_TRICKLE_EVERY = 1.0


def raise_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Slow:
    """One slow connection: what it sends, and when the server closed it."""

    def __init__(self, kind, host, port, every=TRICKLE_EVERY):
        self.kind, self.host, self.port, self.every = kind, host, port, every
        self.opened = self.closed = None
        self.answer = b""

    def prelude(self):
        if self.kind == "head":
            return b"GET /healthz HTTP/1.1\r\nHost: console\r\n"
        if self.kind == "body":
            return (b"POST /api/sign_in HTTP/1.1\r\nHost: console\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 100000\r\n\r\nusername=")
        return b""

    async def run(self, until):
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened = time.monotonic()
        writer.write(self.prelude())

        async def trickle():
            while time.monotonic() < until:
                await asyncio.sleep(self.every)
                if self.kind in ("head", "body"):
                    writer.write(b"a" if self.kind == "body" else b"X")
                    await writer.drain()

        trickling = asyncio.create_task(trickle())
        try:
            while time.monotonic() < until:
                left = until - time.monotonic()
                chunk = await asyncio.wait_for(reader.read(4096), timeout=max(left, 0.01))
                if not chunk:
                    self.closed = time.monotonic()
                    break
                self.answer += chunk
        except (ConnectionError, asyncio.TimeoutError):
            if self.closed is None and time.monotonic() < until:
                self.closed = time.monotonic()
        finally:
            trickling.cancel()
            writer.close()


async def healthz(host, port, until, latencies):
    while time.monotonic() < until:
        started = time.monotonic()
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: console\r\nConnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.05)


async def steady_upload(host, port):
    """20 KB at 4 KB/s: slow, but well above the minimum rate."""
    body = b"username=" + b"a" * (20 * 1024 - 9)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /api/sign_in HTTP/1.1\r\nHost: console\r\nConnection: close\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body))
    for start in range(0, len(body), 1024):
        writer.write(body[start:start + 1024])
        await writer.drain()
        await asyncio.sleep(0.25)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer.split(b"\r\n", 1)[0]


async def test(base, count, head, keep_alive):
    host, port = urlsplit(base).hostname, urlsplit(base).port
    until = time.monotonic() + keep_alive + 2 * head + 5
    kinds = ["idle", "head", "body"]
    slow = [Slow(kinds[i % 3], host, port) for i in range(count)]
    latencies = []
    # Open them in batches, as a crowd arrives: all within a second or two.
    tasks = []
    for start in range(0, count, 200):
        tasks += [asyncio.create_task(c.run(until)) for c in slow[start:start + 200]]
        await asyncio.sleep(0.05)
    upload = asyncio.create_task(steady_upload(host, port))
    await asyncio.gather(healthz(host, port, until, latencies), *tasks)
    uploaded = await upload

    failures = []
    # (earliest, latest) closing allowed: a body's first window starts when the server first
    # reads it, a moment after its head.
    # A new connection that sends nothing has the head's time to send a request.
    limits = {"idle": (head, head), "head": (head, head), "body": (head, 2 * head)}
    for kind in kinds:
        of_kind = [c for c in slow if c.kind == kind]
        open_still = [c for c in of_kind if c.closed is None]
        lasted = [c.closed - c.opened for c in of_kind if c.closed is not None]
        earliest, latest = limits[kind]
        early = [t for t in lasted if t < earliest * 0.9 - TRICKLE_EVERY]
        late = [t for t in lasted if t > latest + 2]
        print(f"{kind}: {len(of_kind)} connections, {len(open_still)} still open, closed after "
              f"{min(lasted, default=0):.2f}–{max(lasted, default=0):.2f} s (limit {latest} s)")
        if open_still or early or late:
            failures.append(f"{kind}: {len(open_still)} open, {len(early)} closed early, "
                            f"{len(late)} closed late")
        if kind == "body":
            not_408 = [c for c in of_kind if not c.answer.startswith(b"HTTP/1.1 408")]
            if not_408:
                failures.append(f"body: {len(not_408)} not answered 408, e.g. "
                                f"{not_408[0].answer[:60]!r}")
    worst = max(latencies, default=99)
    print(f"/healthz meanwhile: {len(latencies)} requests, worst {worst * 1000:.0f} ms")
    print(f"a steady 4 KB/s upload: {uploaded.decode(errors='replace')}")
    if worst > 1 or len(latencies) < 10:
        failures.append(f"/healthz: worst {worst:.2f} s over {len(latencies)} requests")
    if b" 408 " in uploaded or not uploaded.startswith(b"HTTP/1.1"):
        failures.append(f"steady upload answered {uploaded!r}")
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)


def hold(base, count, seconds):
    """Without asyncio: one loop over non-blocking sockets, a byte to each trickling one once a
    second. The clients must cost this machine little, or a benchmark measures them instead of
    the server."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    kinds = ["idle", "head", "body"]
    selector = selectors.DefaultSelector()
    trickling = {}
    closed = 0

    def open_one(kind):
        sock = socket.create_connection((host, port))
        sock.setblocking(False)
        sock.send(Slow(kind, host, port).prelude())
        selector.register(sock, selectors.EVENT_READ, kind)
        if kind != "idle":
            trickling[sock] = b"a" if kind == "body" else b"X"

    def close(sock):
        selector.unregister(sock)
        trickling.pop(sock, None)
        sock.close()

    for i in range(count):
        open_one(kinds[i % 3])
    until = time.monotonic() + seconds
    next_tick = time.monotonic() + HOLD_TRICKLE_EVERY
    while (now := time.monotonic()) < until:
        for key, _ in selector.select(timeout=max(0.0, min(next_tick, until) - now)):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                close(key.fileobj)
                closed += 1
                open_one(key.data)
        if time.monotonic() >= next_tick:
            next_tick += HOLD_TRICKLE_EVERY
            for sock, byte in list(trickling.items()):
                try:
                    sock.send(byte)
                except OSError:
                    pass  # seen closed at the next read
    print(f"{count} slow connections held for {seconds} s; the server closed {closed}")


def exhaust(base, count):
    host, port = urlsplit(base).hostname, urlsplit(base).port
    idle = []
    for _ in range(count):
        # Past the server's listen queue a connect waits for SYN retries: give up on it.
        try:
            idle.append(socket.create_connection((host, port), timeout=0.2))
        except OSError:
            pass
    print(f"{len(idle)} of {count} connections opened")
    time.sleep(2)
    for sock in idle:
        sock.close()
    started = time.monotonic()
    while True:
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: console\r\nConnection: close\r\n\r\n")
                answer = sock.recv(100)
            break
        except OSError:
            if time.monotonic() - started > 5:
                raise
            time.sleep(0.1)
    took = time.monotonic() - started
    status = answer.split(b"\r\n", 1)[0].decode()
    print(f"{count} connections against a smaller file limit; then /healthz answered "
          f"{status} in {took:.2f} s")
    if not answer.startswith(b"HTTP/1.1 200") or took > 5:
        sys.exit("FAILED: the server did not recover from running out of file descriptors")


def main():
    raise_file_limit()
    mode, base = sys.argv[1], sys.argv[2]
    if mode == "test":
        asyncio.run(test(base, int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])))
    elif mode == "exhaust":
        exhaust(base, int(sys.argv[3]))
    elif mode == "hold":
        hold(base, int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
