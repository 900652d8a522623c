#!/usr/bin/env python3
"""An HTTP/1.1 forwarding proxy between an S3 client and an S3 server that
injects the faults a real network and a busy S3 produce.

  fault_proxy.py --listen 127.0.0.1:0 --upstream http://127.0.0.1:PORT
                 --port-file F [--seed S] [--slowdown-every N]
                 [--reset-every N] [--stall-every N --stall-seconds T]
                 [--truncate-every N] [--log FILE]

The client talks to the proxy as if it were the server (path-style URLs,
endpoint http://127.0.0.1:PROXYPORT). Requests are forwarded with their
method, target, headers (Host included, in their order and spelling) and body
bytes unchanged, so SigV4 signatures stay valid; only hop-by-hop headers
(Connection, Keep-Alive, Expect, Proxy-*, TE, Trailer, Upgrade) are not passed
on. Client connections are kept alive (each has its own upstream connection,
also kept alive); every client connection is served by its own thread.

Faults, decided per request in arrival order (request numbers start at 1):
  slowdown  answer 503 with an S3 <Error><Code>SlowDown</Code> body without
            forwarding the request (its body is read and dropped);
  reset     forward, then send the status line, headers and half the body
            and reset the connection (TCP RST); when the body is empty the
            reset comes before the status line (the server did the work, the
            client never hears of it);
  stall     forward, send the status line and headers, then nothing for
            --stall-seconds (default 30) or until the client goes away, then
            close; with an empty body the stall comes before the status line;
  truncate  forward, send the headers (with the full Content-Length) and half
            the body, then close the connection cleanly (FIN); with an empty
            body the connection closes before the status line.
Without --seed, fault X hits requests N_X, 2 N_X, 3 N_X, ... (X = slowdown,
reset, stall, truncate, checked in that order: the first that matches wins).
With --seed S, fault X hits each request with probability 1/N_X, drawn from
a random generator seeded with S (same seed and request order, same faults).

--port-file F receives the listening port once the proxy accepts
connections (written to F.tmp, then renamed). --log FILE gets one line per
request: "n=N METHOD TARGET -> STATUS fault=NAME [detail]" (stderr when
omitted). The proxy runs until killed (SIGTERM/SIGINT).
"""

import argparse
import http.client
import http.server
import os
import random
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection", "keep-alive", "expect", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "trailers", "upgrade", "transfer-encoding",
}
COPY_CHUNK = 256 * 1024
FAULTS = ("slowdown", "reset", "stall", "truncate")


class FaultPlan:
    """Decides the fault of each request; thread-safe."""

    def __init__(self, every, seed):
        self._every = every  # fault name -> N (0: never)
        self._rng = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()
        self._count = 0

    def next(self):
        """Returns (request number, fault name or None)."""
        with self._lock:
            self._count += 1
            n = self._count
            for name in FAULTS:
                every = self._every.get(name, 0)
                if every <= 0:
                    continue
                if self._rng is not None:
                    hit = self._rng.random() < 1.0 / every
                else:
                    hit = n % every == 0
                if hit:
                    return n, name
            return n, None


class Log:
    def __init__(self, path):
        self._f = open(path, "a", buffering=1) if path else sys.stderr
        self._lock = threading.Lock()

    def line(self, text):
        with self._lock:
            self._f.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self._f.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, upstream, plan, log, stall_seconds):
        super().__init__(address, Handler)
        self.upstream = upstream
        self.plan = plan
        self.log = log
        self.stall_seconds = stall_seconds


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault_proxy"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._upstream = None
        self._gone = False  # the client socket was reset by a fault

    def finish(self):
        try:
            super().finish()
        finally:
            if self._upstream is not None:
                self._upstream.close()

    def log_message(self, fmt, *args):  # http.server's own lines: only errors
        self.server.log.line("proxy: " + (fmt % args))

    def log_request(self, code="-", size="-"):
        pass

    # ---- request side --------------------------------------------------------
    def _read_body(self):
        """The request body as bytes, and whether it came chunked."""
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts), True
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length", "0") or "0")
        return (self.rfile.read(length) if length > 0 else b""), False

    def _connect(self):
        u = self.server.upstream
        self._upstream = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)
        self._upstream.connect()
        self._upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send_upstream(self, body, chunked):
        c = self._upstream
        c.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP_BY_HOP:
                c.putheader(k, v)
        if chunked:
            c.putheader("Transfer-Encoding", "chunked")
            c.endheaders()
            if body:
                c.send(b"%x\r\n%s\r\n" % (len(body), body))
            c.send(b"0\r\n\r\n")
        else:
            c.endheaders(body if body else None)
        return c.getresponse()

    def _forward(self, body, chunked):
        """Sends the request upstream; returns the response. A kept-alive
        upstream connection the server closed meanwhile is reopened once."""
        for attempt in (0, 1):
            if self._upstream is None:
                self._connect()
            try:
                return self._send_upstream(body, chunked)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._upstream.close()
                self._upstream = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _after_response(self, resp, body):
        """Drops the upstream connection when the server closes it, and after
        an error answer to a request with a body: radosgw may answer such a
        request before reading its body, and the next request on that
        connection can then stall. A new connection avoids passing that on
        as a fault nobody configured."""
        if resp.will_close or (body and resp.status >= 400):
            self._upstream.close()
            self._upstream = None

    # ---- response side -------------------------------------------------------
    def _start_response(self, resp, chunked):
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _write_part(self, data, chunked):
        if chunked and data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        elif data:
            self.wfile.write(data)

    def _reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self._gone = True
        self.close_connection = True

    def _close(self):
        try:
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.close_connection = True

    def _stall(self):
        """Sends nothing for stall_seconds, or until the client goes away."""
        deadline = time.monotonic() + self.server.stall_seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "stalled the full time"
            r, _, _ = select.select([self.connection], [], [], min(left, 1.0))
            if r:
                try:
                    if not self.connection.recv(65536, socket.MSG_PEEK):
                        return "client went away"
                except OSError:
                    return "client went away"
                time.sleep(min(left, 0.2))  # pipelined data: keep stalling

    def _slowdown(self, n):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            "<Message>Please reduce your request rate. (fault_proxy)</Message>"
            f"<RequestId>fault-proxy-{n}</RequestId></Error>"
        ).encode()
        self.send_response_only(503, "Slow Down")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", f"fault-proxy-{n}")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        n, fault = self.server.plan.next()
        what = f"n={n} {self.command} {self.path}"
        body, chunked = self._read_body()
        if fault == "slowdown":
            self._slowdown(n)
            self.server.log.line(f"{what} -> 503 fault=slowdown (not forwarded)")
            return
        try:
            resp = self._forward(body, chunked)
        except (OSError, http.client.HTTPException) as e:
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None
            msg = f"upstream {self.server.upstream.geturl()} failed: {e}".encode()
            self.send_response_only(502, "Bad Gateway")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            self.server.log.line(f"{what} -> 502 fault=none upstream error: {e}")
            return
        has_body = self.command != "HEAD" and resp.status not in (204, 304) and resp.status >= 200
        if not has_body:
            # Completes the response for http.client (HEAD, 204, 304): until
            # then the next request on this connection raises ResponseNotReady.
            resp.read()
        up_chunked = resp.chunked
        if fault is None:
            self._start_response(resp, up_chunked and has_body)
            sent = 0
            while has_body:
                data = resp.read1(COPY_CHUNK) if up_chunked else resp.read(COPY_CHUNK)
                if not data:
                    break
                if up_chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                sent += len(data)
            if up_chunked and has_body:
                self.wfile.write(b"0\r\n\r\n")
            self._after_response(resp, body)
            self.server.log.line(f"{what} -> {resp.status} fault=none {sent} bytes")
            return

        # A fault: read the whole response first so the upstream connection
        # stays usable, then give the client only part of it.
        data = resp.read() if has_body else b""
        self._after_response(resp, body)
        half = len(data) // 2
        if fault == "reset":
            if data:
                self._start_response(resp, up_chunked)
                self._write_part(data[:half], up_chunked)
                detail = f"reset after {half} of {len(data)} body bytes"
            else:
                detail = "reset before the status line (empty body)"
            self._reset()
        elif fault == "stall":
            if data:
                self._start_response(resp, up_chunked)
                detail = "headers sent, then " + self._stall()
            else:
                detail = "before the status line (empty body), " + self._stall()
            self._close()
        else:  # truncate
            if data:
                self._start_response(resp, up_chunked)
                self._write_part(data[:half], up_chunked)
                detail = f"closed after {half} of {len(data)} body bytes"
            else:
                detail = "closed before the status line (empty body)"
            self._close()
        self.server.log.line(f"{what} -> {resp.status} fault={fault} {detail}")

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # sends its own error (and 100-continue)
                return
            self._handle()
            if not self._gone:
                self.wfile.flush()
        except (ConnectionError, socket.timeout, OSError) as e:
            self.server.log.line(f"client connection ended: {e}")
            self.close_connection = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free port)")
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the S3 server")
    ap.add_argument("--port-file", help="write the listening port here")
    ap.add_argument("--seed", type=int, help="random faults with probability 1/N (default: every Nth)")
    for name in FAULTS:
        ap.add_argument(f"--{name}-every", type=int, default=0, metavar="N")
    ap.add_argument("--stall-seconds", type=float, default=30.0)
    ap.add_argument("--log", help="log file (default stderr)")
    a = ap.parse_args()

    upstream = urllib.parse.urlsplit(a.upstream)
    if upstream.scheme != "http" or not upstream.hostname:
        ap.error(f"--upstream {a.upstream}: need http://HOST:PORT (no TLS)")
    host, _, port = a.listen.rpartition(":")
    if not host or not port.isdigit():
        ap.error(f"--listen {a.listen}: need HOST:PORT")
    every = {name: getattr(a, f"{name}_every") for name in FAULTS}
    if any(v < 0 for v in every.values()):
        ap.error("--*-every N: N must be >= 0")

    log = Log(a.log)
    server = Server((host, int(port)), upstream, FaultPlan(every, a.seed), log, a.stall_seconds)
    bound = server.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{bound}\n")
        os.replace(a.port_file + ".tmp", a.port_file)
    faults = ", ".join(f"{k} every {v}" for k, v in every.items() if v) or "none"
    if a.seed is not None:
        faults += f" (random, seed {a.seed})"
    log.line(f"listening on {host}:{bound}, upstream {a.upstream}, faults: {faults}")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
