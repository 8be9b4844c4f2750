"""A tiny XML-RPC client speaking HTTP/1.1 on a unix socket, keeping the connection open.

Written by hand (rather than xmlrpc.client's transport) so that one connection is reused for
many requests and the time of each request -> full response can be measured exactly.
"""

import socket
import xmlrpc.client
from xml.parsers.expat import ExpatError

from .errors import ImplError

MAX_HEADER = 64 * 1024


class ConnectError(ImplError):
    """The socket is missing or refuses connections (daemon not up yet, or gone)."""


class NoResponse(ImplError):
    """No full response within the timeout (daemon busy or hung)."""


class _Closed(Exception):
    """The server closed the connection before a full response arrived."""


class UnixRpc:
    def __init__(self, path, timeout=10.0):
        self.path = str(path)
        self.timeout = timeout
        self.sock = None
        self.buf = b""
        self.connects = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buf = b""

    def connect(self):
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as err:
            sock.close()
            raise ConnectError(f"connecting to {self.path}: {err}") from None
        self.sock = sock
        self.connects += 1

    def call(self, method, *params):
        """Calls `method` and returns its decoded result; faults and garbage raise ImplError."""
        body = self.call_raw(method, params)
        try:
            result, _ = xmlrpc.client.loads(body)
        except xmlrpc.client.Fault as fault:
            raise ImplError(f"{method}: fault {fault.faultCode}: {fault.faultString}") from None
        except (ExpatError, ValueError, TypeError) as err:
            raise ImplError(f"{method}: unparsable XML-RPC response ({err}): "
                            f"{body[:200]!r}") from None
        if len(result) != 1:
            raise ImplError(f"{method}: response holds {len(result)} values, expected 1")
        return result[0]

    def call_raw(self, method, params=()):
        """Sends one request and returns the raw response body (reconnecting once if a reused
        connection turns out to be closed)."""
        payload = xmlrpc.client.dumps(tuple(params), method).encode()
        request = (
            b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n" % len(payload)
        ) + payload
        reused = self.sock is not None
        try:
            return self._exchange(request, method)
        except (_Closed, BrokenPipeError, ConnectionResetError):
            if not reused:
                raise ImplError(f"{method}: server closed the connection without "
                                "a response") from None
        return self._exchange(request, method)

    def _exchange(self, request, method):
        try:
            if self.sock is None:
                self.connect()
            self.sock.sendall(request)
            return self._read_response(method)
        except socket.timeout:
            self.close()
            raise NoResponse(f"{method}: no full response within {self.timeout:g} s") from None
        except (_Closed, BrokenPipeError, ConnectionResetError):
            self.close()
            raise
        except OSError as err:
            self.close()
            raise ImplError(f"{method}: socket error on {self.path}: {err}") from None

    def _recv(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise _Closed()
        self.buf += data

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _read_line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > MAX_HEADER:
                raise ImplError("HTTP line longer than 64 KiB")
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_response(self, method):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEADER:
                raise ImplError(f"{method}: HTTP header longer than 64 KiB")
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or not status[0].startswith("HTTP/"):
            raise ImplError(f"{method}: bad HTTP status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self._read_body(headers)
        if status[1] != "200":
            raise ImplError(f"{method}: HTTP {lines[0]!r}: {body[:200]!r}")
        keep = headers.get("connection", "").lower() != "close" and status[0] == "HTTP/1.1"
        if not keep:
            self.close()
        return body

    def _read_body(self, headers):
        if "content-length" in headers:
            try:
                return self._read_exact(int(headers["content-length"]))
            except ValueError:
                raise ImplError(f"bad Content-Length {headers['content-length']!r}") from None
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunked()
        # Neither length nor chunks: the body ends when the server closes the connection.
        try:
            while True:
                self._recv()
        except _Closed:
            body, self.buf = self.buf, b""
            self.close()
            return body

    def _read_chunked(self):
        body = b""
        while True:
            size_line = self._read_line().split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ImplError(f"bad chunk size {size_line!r}") from None
            if size == 0:
                while self._read_line():
                    pass
                return body
            body += self._read_exact(size)
            self._read_exact(2)


def try_call(path, method, *params, timeout=5.0):
    """One call on a fresh connection; None when the socket is not there, not accepting yet or
    the daemon is too busy to answer within `timeout`."""
    try:
        with UnixRpc(path, timeout) as rpc:
            return rpc.call(method, *params)
    except (ConnectError, NoResponse):
        return None
