# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting HTTPS proxy between the modules and the test S3 service.

It terminates TLS with a certificate from the service's own throwaway CA (so
clients keep the same ``ca_bundle``), reads each HTTP/1.1 request, and either
forwards it to the service over TLS or applies the first rule that matches::

    with FaultProxy.for_service(s3) as proxy:
        slow = proxy.fail(method="PUT", status=503, code="SlowDown", times=2)
        cut = proxy.cut(method="PUT", path=r"partNumber=2", bytes_up=64 * 1024)
        proxy.stall(3.0, method="GET")
        proxy.throttle(bytes_per_second=1024 * 1024)
        ...  # point endpoint_url at proxy.endpoint_url
        assert slow.fired == 2 and proxy.count(method="PUT", path="/bucket/name$") == 3

A rule matches on method, a regular expression searched in the request target
(path and query), the presence of an SSE-C header, and any other header; it
lets the first ``after`` matches through and then fires ``times`` times
(``None``: every time).  ``seen`` and ``fired`` count matches and firings.

Actions: ``fail`` answers with an S3 XML error and closes the connection;
``cut`` forwards the request and resets both connections once ``bytes_up``
bytes of its body or ``bytes_down`` bytes of its response have passed;
``stall`` holds the request for some seconds, then forwards it.
``throttle`` slows every byte that passes.

One thread per client connection relays requests one at a time (HTTP/1.1
without pipelining, as botocore sends them), so each TLS socket is used by one
thread only.  Only the standard library and ``cryptography`` are used.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from pathlib import Path

SSE_C_HEADER = "x-amz-server-side-encryption-customer-algorithm"
COPY_SOURCE_SSE_C_HEADER = "x-amz-copy-source-server-side-encryption-customer-algorithm"
_BLOCK = 64 * 1024
_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable"}
_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "AccessDenied": "Access Denied",
    "ServiceUnavailable": "Service is unable to handle request.",
}


class ProxyCut(Exception):
    """A rule cut the connection: both sockets are reset."""


class Request:
    """One request as the proxy saw it, and what it did with it."""

    def __init__(self, method, target, headers):
        self.method = method
        self.target = target
        self.headers = headers
        self.action = "forward"

    @property
    def sse_c(self) -> bool:
        return SSE_C_HEADER in self.headers

    def __repr__(self):
        return "<%s %s %s>" % (self.method, self.target, self.action)


class Rule:
    """Which requests a fault applies to, and how often; counters for the tests."""

    def __init__(self, action, method=None, path=None, sse_c=None, header=None, after=0, times=1, **params):
        self.action = action
        self.method = method.upper() if method else None
        self.path = re.compile(path) if path else None
        self.sse_c = sse_c
        self.header = header.lower() if header else None
        self.after = after
        self.times = times
        self.params = params
        self.seen = 0
        self.fired = 0

    def matches(self, request) -> bool:
        return ((self.method is None or request.method == self.method)
                and (self.path is None or self.path.search(request.target) is not None)
                and (self.sse_c is None or request.sse_c == self.sse_c)
                and (self.header is None or self.header in request.headers))

    def take(self) -> bool:
        """Count a matching request; True when the fault applies to it (caller holds the proxy's lock)."""
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True

    def __repr__(self):
        return "<Rule %s %s seen=%d fired=%d>" % (self.action, self.params, self.seen, self.fired)


def error_response(status, code, message=None, head_only=False) -> bytes:
    """An S3 error as AWS sends it: XML body, and the connection closed after it."""
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
            "<RequestId>FAULTPROXY</RequestId></Error>" % (code, message or _MESSAGES.get(code, code))).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nx-amz-request-id: FAULTPROXY\r\n"
            "Connection: close\r\n\r\n" % (status, _REASONS.get(status, "Error"), 0 if head_only else len(body)))
    return head.encode() + (b"" if head_only else body)


def _read_head(reader):
    """(start line, raw head bytes, headers with lower-case names) of the next message, or None at EOF."""
    lines = []
    while True:
        line = reader.readline(65537)
        if not line:
            if lines:
                raise ProxyCut("connection closed inside a message head")
            return None
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # stray CRLF between messages
            break
        lines.append(line)
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0].decode("latin-1").strip(), b"".join(lines) + b"\r\n", headers


class FaultProxy:
    """The proxy; rules are added and cleared from the test while it runs."""

    def __init__(self, upstream_port, ca_file, cert_file, key_file, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.ca_file = str(ca_file)
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_context.load_cert_chain(str(cert_file), str(key_file))
        # No TLS 1.3 session tickets: one arriving on an idle connection makes urllib3 drop it as dead.
        self._server_context.num_tickets = 0
        self._client_context = ssl.create_default_context(cafile=self.ca_file)
        self._lock = threading.Lock()
        self._rules = []
        self._sockets = set()
        self._throttle = None
        self._stopping = threading.Event()
        self._listener = None
        self._thread = None
        self.requests = []
        self.connections = 0
        self.port = None
        self._temp_dir = None  # made by for_service(): removed by stop()

    @classmethod
    def for_service(cls, service, workdir=None):
        """A proxy for an S3Service, with a leaf certificate signed by the service's CA."""
        # tests/support is on sys.path wherever this module is imported from.
        import s3service  # pylint: disable=import-outside-toplevel
        from cryptography import x509  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

        tls = Path(service.ca_file).parent
        ca_cert = x509.load_pem_x509_certificate((tls / "ca.pem").read_bytes())
        ca_key = serialization.load_pem_private_key((tls / "ca.key").read_bytes(), password=None)
        leaf_key, leaf_cert = s3service._make_leaf(ca_key, ca_cert)  # pylint: disable=protected-access
        directory = Path(workdir or tempfile.mkdtemp(prefix="ssec-faultproxy-"))
        directory.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = directory / "proxy.pem", directory / "proxy.key"
        cert_file.write_bytes(s3service._cert_pem(leaf_cert))  # pylint: disable=protected-access
        s3service._write_private(key_file, s3service._key_pem(leaf_key))  # pylint: disable=protected-access
        proxy = cls(service.ports["s3_https"], service.ca_file, cert_file, key_file)
        if workdir is None:
            proxy._temp_dir = directory  # pylint: disable=protected-access
        return proxy

    # -- lifecycle ------------------------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return "https://127.0.0.1:%d" % self.port

    def start(self) -> "FaultProxy":
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            live = list(self._sockets)
        for sock in live:
            _reset(sock)
        if self._thread is not None:
            self._thread.join(5)
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # -- rules ----------------------------------------------------------------------------------------------

    def fail(self, status=503, code="SlowDown", message=None, **match) -> Rule:
        """Answer matching requests with an S3 error instead of forwarding them."""
        return self._add(Rule("fail", status=status, code=code, message=message, **match))

    def cut(self, bytes_up=None, bytes_down=None, **match) -> Rule:
        """Reset the connection after ``bytes_up`` bytes of a matching request's body, or ``bytes_down`` bytes
        of its response body, have passed."""
        if (bytes_up is None) == (bytes_down is None):
            raise ValueError("give one of bytes_up and bytes_down")
        return self._add(Rule("cut", bytes_up=bytes_up, bytes_down=bytes_down, **match))

    def stall(self, seconds, **match) -> Rule:
        """Hold matching requests for ``seconds`` before forwarding them."""
        return self._add(Rule("stall", seconds=seconds, **match))

    def throttle(self, bytes_per_second=None) -> None:
        """Limit every relay to this rate (per connection and direction); None lifts it."""
        self._throttle = bytes_per_second

    def clear(self) -> None:
        """Remove every rule and the throttle; requests then pass untouched."""
        with self._lock:
            self._rules = []
        self._throttle = None

    def _add(self, rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def count(self, method=None, path=None, action=None) -> int:
        """How many requests seen so far match: method, regular expression on the target, action taken."""
        pattern = re.compile(path) if path else None
        with self._lock:
            return sum(1 for request in self.requests
                       if (method is None or request.method == method.upper())
                       and (pattern is None or pattern.search(request.target))
                       and (action is None or request.action == action))

    def _decide(self, request):
        with self._lock:
            self.requests.append(request)
            for rule in self._rules:
                if rule.matches(request) and rule.take():
                    request.action = rule.action
                    return rule
        return None

    # -- relaying -------------------------------------------------------------------------------------------

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                raw, _address = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(raw,), name="faultproxy-conn", daemon=True).start()

    def _track(self, sock):
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _serve(self, raw):
        self._track(raw)
        client = upstream = None
        try:
            raw.settimeout(120)
            client = self._track(self._server_context.wrap_socket(raw, server_side=True))
            reader = client.makefile("rb")
            upstream_reader = None
            while not self._stopping.is_set():
                message = _read_head(reader)
                if message is None:
                    return
                start, head, headers = message
                method, target = start.split(" ", 2)[:2]
                request = Request(method.upper(), target, headers)
                rule = self._decide(request)
                if rule is not None and rule.action == "stall":
                    self._stopping.wait(rule.params["seconds"])
                if rule is not None and rule.action == "fail":
                    self._answer_error(client, reader, request, rule)
                    return
                if upstream is None:
                    upstream = self._track(self._client_context.wrap_socket(
                        socket.create_connection(self.upstream, timeout=120), server_hostname=self.upstream[0]))
                    upstream_reader = upstream.makefile("rb")
                cut = rule.params if rule is not None and rule.action == "cut" else {}
                upstream.sendall(head)
                if headers.get("expect", "").lower() == "100-continue":
                    # The client sends the body only after "100 Continue"; a final answer instead ends the exchange.
                    interim = _read_head(upstream_reader)
                    if interim is None:
                        raise ProxyCut("upstream closed")
                    client.sendall(interim[1])
                    if not interim[0].split(" ")[1].startswith("100"):
                        self._relay_body(upstream_reader, client, interim[2], method, cut.get("bytes_down"))
                        return
                self._relay_request_body(reader, upstream, headers, cut.get("bytes_up"))
                response = _read_head(upstream_reader)
                while response is not None and response[0].split(" ")[1].startswith("1"):
                    client.sendall(response[1])
                    response = _read_head(upstream_reader)
                if response is None:
                    raise ProxyCut("upstream closed before answering")
                client.sendall(response[1])
                status = int(response[0].split(" ")[1])
                if method.upper() == "HEAD" or status in (204, 304):
                    continue
                if not self._relay_body(upstream_reader, client, response[2], method, cut.get("bytes_down")):
                    return
                if response[2].get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError, IndexError, ProxyCut, ssl.SSLError):
            for sock in (client, upstream, raw):
                if sock is not None:
                    _reset(sock)
        finally:
            with self._lock:
                for sock in (client, upstream, raw):
                    self._sockets.discard(sock)
            for sock in (client, upstream, raw):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    def _answer_error(self, client, reader, request, rule):
        expects = request.headers.get("expect", "").lower() == "100-continue"
        if not expects:
            self._copy(reader, None, int(request.headers.get("content-length") or 0), None)
        client.sendall(error_response(rule.params["status"], rule.params["code"], rule.params["message"],
                                      head_only=request.method == "HEAD"))
        # Let the client read the answer and close first, so that no reset destroys it.
        client.settimeout(2)
        try:
            while reader.read1(_BLOCK):
                pass
        except (OSError, ValueError):
            pass

    def _relay_request_body(self, reader, upstream, headers, cut_after):
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._relay_chunked(reader, upstream, cut_after)
        else:
            self._copy(reader, upstream, int(headers.get("content-length") or 0), cut_after)

    def _relay_body(self, upstream_reader, client, headers, method, cut_after) -> bool:
        """Relay a response body; False when it was delimited by the connection's end."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._relay_chunked(upstream_reader, client, cut_after)
            return True
        if "content-length" in headers:
            self._copy(upstream_reader, client, int(headers["content-length"]), cut_after)
            return True
        self._copy(upstream_reader, client, None, cut_after)
        return False

    def _relay_chunked(self, reader, writer, cut_after):
        passed = 0
        while True:
            size_line = reader.readline(1024)
            if not size_line:
                raise ProxyCut("connection closed inside a chunked body")
            writer.sendall(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = reader.readline(65537)
                    writer.sendall(line)
                    if line in (b"\r\n", b"\n", b""):
                        return
            passed += self._copy(reader, writer, size, None if cut_after is None else cut_after - passed)
            writer.sendall(reader.readline(16))

    def _copy(self, reader, writer, length, cut_after) -> int:
        """Copy ``length`` bytes (None: until EOF); reset after ``cut_after`` bytes. Returns the count copied."""
        copied = 0
        started = time.monotonic()
        while length is None or copied < length:
            want = _BLOCK if length is None else min(_BLOCK, length - copied)
            if cut_after is not None:
                want = min(want, max(cut_after - copied, 0))
                if want == 0:
                    raise ProxyCut("cut after %d bytes" % cut_after)
            rate = self._throttle
            if rate:
                want = min(want, max(1, rate // 10))
            block = reader.read1(want) if hasattr(reader, "read1") else reader.read(want)
            if not block:
                if length is None:
                    return copied
                raise ProxyCut("connection closed inside a body")
            if writer is not None:
                writer.sendall(block)
            copied += len(block)
            if rate:
                ahead = copied / rate - (time.monotonic() - started)
                if ahead > 0:
                    self._stopping.wait(ahead)
        return copied


def _reset(sock) -> None:
    """Close with a TCP reset, waking any thread blocked on the socket."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, ValueError):
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass
