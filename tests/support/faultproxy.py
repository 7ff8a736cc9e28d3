"""A fault-injecting HTTP reverse proxy in front of the local S3 server, for tests.

The target is given the proxy's URL as `endpoint_url`. Each request is read whole
(headers, then a Content-Length or chunked body, answering `Expect: 100-continue`
itself), checked against the rules in the order they were added, and either forwarded
to the S3 server or answered with a fault:

- `internal_error`: 500 with S3's InternalError XML body;
- `slow_down`: 503 with S3's SlowDown XML body;
- `not_implemented`: 501 with S3's NotImplemented XML body (as s3rver answers
  ListMultipartUploads);
- `access_denied`: 403 with S3's AccessDenied XML body (a permission the policy lacks);
- `wrong_checksum`: the request is forwarded, and the answer's `x-amz-checksum-sha256`
  header (HeadObject's report of the object's SHA-256) replaced by another value with
  the same `-<parts>` suffix: as if the server held other bytes of the same size;
- `reset`: half the body (at most 1 MiB) is read, then the socket is closed with
  SO_LINGER 0, so the client sees a connection reset while it is still sending;
- `stall`: the request is read and never answered; the connection is closed without a
  response when the rule's `release` event is set or the proxy closes;
- `stall_mid_body`: like a stall, but only half the body (at most 1 MiB) is read, so the
  client is left blocked while sending;
- `delay`: the request is read, held for the rule's `seconds`, then forwarded;
- `drop_answer`: the request is forwarded (the server acts on it) but the client gets a
  reset instead of the answer.

Every request is logged as a `Seen`, so tests can count attempts. Plain sockets and
threads: one thread per client connection, one keep-alive upstream connection each.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import io
import re
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

FAULTS = (
    "internal_error",
    "slow_down",
    "not_implemented",
    "access_denied",
    "wrong_checksum",
    "reset",
    "stall",
    "stall_mid_body",
    "delay",
    "drop_answer",
)

_ERRORS = {
    "internal_error": (
        500,
        "Internal Server Error",
        "InternalError",
        "We encountered an internal error. Please try again.",
    ),
    "slow_down": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "not_implemented": (
        501,
        "Not Implemented",
        "NotImplemented",
        "A header you provided implies functionality that is not implemented.",
    ),
    "access_denied": (403, "Forbidden", "AccessDenied", "Access Denied"),
}
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "expect", "transfer-encoding", "te", "trailer", "upgrade"}
)
_RESET_READ_MAX = 1024 * 1024


@dataclass
class Rule:
    """Which requests get a fault: method and a regex searched in path?query.

    The first `after` matching requests pass; the next `times` ones (every one after
    them when `times` is None) get the fault.
    """

    fault: str
    method: str | None = None
    pattern: str | None = None
    after: int = 0
    times: int | None = 1
    seconds: float = 0.0
    """How long a `delay` holds the request."""
    gate: threading.Event | None = None
    """When given, a request read whole is held until it is set, then gets the fault."""
    matched: int = 0
    fired: int = 0
    hit: threading.Event = field(default_factory=threading.Event)
    """Set when the rule first fires (for a stall: once the whole request was read)."""
    release: threading.Event = field(default_factory=threading.Event)
    """Ends this rule's stalls when set."""

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {FAULTS}")

    def matches(self, method: str, target: str) -> bool:
        """Whether the request is one this rule is about (firing or not)."""
        if self.method is not None and method != self.method:
            return False
        return self.pattern is None or re.search(self.pattern, target) is not None


@dataclass(frozen=True)
class Seen:
    """One request the proxy received: what it did with it and the status answered.

    `fault` is None when forwarded; `status` is None after a reset or a stall.
    """

    method: str
    target: str
    fault: str | None
    status: int | None


class FaultProxy:
    """The proxy, listening on a free 127.0.0.1 port until `close` (or the `with` ends)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.log: list[Seen] = []
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add(
        self,
        fault: str,
        *,
        method: str | None = None,
        pattern: str | None = None,
        after: int = 0,
        times: int | None = 1,
        seconds: float = 0.0,
        gate: threading.Event | None = None,
    ) -> Rule:
        """Add a rule (see `Rule`); `times=None` faults every matching request."""
        rule = Rule(fault, method, pattern, after, times, seconds, gate)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule, ending their stalls; the log is kept."""
        with self._lock:
            rules, self.rules = self.rules, []
        for rule in rules:
            rule.release.set()

    def seen(self, method: str | None = None, pattern: str | None = None) -> list[Seen]:
        """The logged requests with this method and path?query matching `pattern`."""
        probe = Rule("stall", method, pattern)
        with self._lock:
            return [s for s in self.log if probe.matches(s.method, s.target)]

    def close(self) -> None:
        """Stop listening, end stalls and close every client connection."""
        self.closing.set()
        self.clear()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- used by the handler ---------------------------------------------------------------

    def _choose(self, method: str, target: str) -> Rule | None:
        """The first rule that fires for this request (counting it on every matching rule)."""
        chosen = None
        with self._lock:
            for rule in self.rules:
                if not rule.matches(method, target):
                    continue
                rule.matched += 1
                due = rule.matched > rule.after
                if chosen is None and due and (rule.times is None or rule.fired < rule.times):
                    rule.fired += 1
                    chosen = rule
        return chosen

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.log.append(seen)

    def _track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(socketserver.StreamRequestHandler):
    """One client connection: requests in turn (keep-alive) until the client closes."""

    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        sock: socket.socket = self.connection
        proxy._track(sock, add=True)
        upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
        try:
            while not proxy.closing.is_set() and self._one_request(proxy, upstream):
                pass
        except (OSError, ValueError, http.client.HTTPException):
            pass  # the client went away (or the proxy is closing)
        finally:
            upstream.close()
            proxy._track(sock, add=False)

    def _one_request(self, proxy: FaultProxy, upstream: http.client.HTTPConnection) -> bool:
        """Serve one request; False when the connection is done."""
        line = self.rfile.readline(65537)
        if not line.strip():
            return False
        method, target, _version = line.decode("latin-1").split()
        headers = http.client.parse_headers(self.rfile)
        if headers.get("Expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        rule = proxy._choose(method, target)
        if rule is not None and rule.fault in ("reset", "stall_mid_body"):
            length = int(headers.get("Content-Length") or 0)
            self.rfile.read(min(length // 2, _RESET_READ_MAX))
            proxy._record(Seen(method, target, rule.fault, None))
            rule.hit.set()
            if rule.fault == "reset":
                self._reset()
            else:
                self._hold(proxy, rule)
            return False
        body = _read_body(self.rfile, headers)
        if rule is not None and rule.gate is not None:
            while not (rule.gate.wait(0.1) or proxy.closing.is_set()):
                pass
        if rule is not None and rule.fault == "stall":
            proxy._record(Seen(method, target, "stall", None))
            rule.hit.set()
            self._hold(proxy, rule)
            return False
        if rule is not None and rule.fault == "drop_answer":
            status = self._forward(upstream, method, target, headers, body, answer=False)
            proxy._record(Seen(method, target, "drop_answer", status))
            rule.hit.set()
            self._reset()
            return False
        if rule is not None and rule.fault == "delay":
            rule.hit.set()
            rule.release.wait(rule.seconds)
            status = self._forward(upstream, method, target, headers, body)
            proxy._record(Seen(method, target, "delay", status))
        elif rule is not None and rule.fault == "wrong_checksum":
            rule.hit.set()
            status = self._forward(upstream, method, target, headers, body, rewrite=_other_sha256)
            proxy._record(Seen(method, target, "wrong_checksum", status))
        elif rule is not None:
            status, reason, code, message = _ERRORS[rule.fault]
            proxy._record(Seen(method, target, rule.fault, status))
            rule.hit.set()
            self._answer_error(status, reason, code, message)
        else:
            status = self._forward(upstream, method, target, headers, body)
            proxy._record(Seen(method, target, None, status))
        return headers.get("Connection", "").lower() != "close"

    def _forward(
        self,
        upstream: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: Any,
        body: bytes | None,
        *,
        answer: bool = True,
        rewrite: Callable[[str, str], str] | None = None,
    ) -> int:
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        if body is not None:
            sent = {k: v for k, v in sent.items() if k.lower() != "content-length"}
            sent["Content-Length"] = str(len(body))
        upstream.request(method, target, body=body, headers=sent)
        response = upstream.getresponse()
        data = response.read()
        if not answer:
            return response.status
        out = [f"HTTP/1.1 {response.status} {response.reason}"]
        for name, value in response.getheaders():
            if name.lower() in _HOP_BY_HOP or name.lower() == "content-length":
                continue
            out.append(f"{name}: {rewrite(name, value) if rewrite else value}")
        # A HEAD answer keeps the length of the object it describes, with no body.
        length = response.getheader("Content-Length") if method == "HEAD" else str(len(data))
        if length is not None:
            out.append(f"Content-Length: {length}")
        self.wfile.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
        return response.status

    def _answer_error(self, status: int, reason: str, code: str, message: str) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            "<RequestId>FAULTPROXY</RequestId><HostId>faultproxy</HostId></Error>"
        ).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
            f"x-amz-request-id: FAULTPROXY\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + body)

    def _hold(self, proxy: FaultProxy, rule: Rule) -> None:
        """Neither read nor answer until the rule is released or the proxy closes."""
        while not (rule.release.wait(0.1) or proxy.closing.is_set()):
            pass

    def _reset(self) -> None:
        """Close at once with SO_LINGER 0: the kernel sends RST, not FIN."""
        sock: socket.socket = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the file objects hold the descriptor open until closed
        self.wfile.close()
        sock.close()


def _other_sha256(name: str, value: str) -> str:
    """Another SHA-256 in an `x-amz-checksum-sha256` header; other headers unchanged."""
    if name.lower() != "x-amz-checksum-sha256":
        return value
    _, dash, parts = value.partition("-")
    other = base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()
    return other + dash + parts


def _read_body(rfile: io.BufferedIOBase, headers: Any) -> bytes | None:
    """The request body (None when the request has none), de-chunked."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return b"".join(_chunks(rfile))
    length = headers.get("Content-Length")
    if length is None:
        return None
    data = rfile.read(int(length))
    if len(data) != int(length):
        raise ConnectionError("client closed the connection mid-body")
    return data


def _chunks(rfile: io.BufferedIOBase) -> Iterator[bytes]:
    while True:
        line = rfile.readline(1024)
        if not line:
            raise ConnectionError("client closed the connection mid-body")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while rfile.readline(65537).strip():  # trailers, up to the blank line
                pass
            return
        yield rfile.read(size)
        rfile.readline(8)  # the CRLF after the chunk
