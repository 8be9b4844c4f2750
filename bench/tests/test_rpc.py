"""The raw keep-alive XML-RPC client against a scripted unix-socket server."""

import socket
import tempfile
import threading
import unittest
import xmlrpc.client
from pathlib import Path

from harness.errors import ImplError
from harness.rpc import UnixRpc, try_call


def response(value, chunked=False, close=False):
    body = xmlrpc.client.dumps((value,), methodresponse=True).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
    if close:
        head += b"Connection: close\r\n"
    if chunked:
        mid = len(body) // 2
        parts = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:mid], body[mid:]))
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + parts + b"0\r\n\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


class Server:
    """Answers each request on a connection with the next canned reply; counts connections."""

    def __init__(self, path, replies):
        self.replies = list(replies)
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.replies:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                self.answer(conn)

    def answer(self, conn):
        buf = b""
        while self.replies:
            while b"</methodCall>" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            buf = buf.split(b"</methodCall>", 1)[1]
            reply = self.replies.pop(0)
            conn.sendall(reply)
            if b"Connection: close" in reply:
                return

    def close(self):
        self.sock.close()


class RpcTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "s.sock"

    def tearDown(self):
        self.dir.cleanup()

    def test_keeps_one_connection_for_many_calls(self):
        server = Server(self.path, [response([1]), response([2], chunked=True), response([3])])
        with UnixRpc(self.path, 5) as rpc:
            self.assertEqual([rpc.call("m") for _ in range(3)], [[1], [2], [3]])
            self.assertEqual(rpc.connects, 1)
        server.close()

    def test_reconnects_after_connection_close(self):
        server = Server(self.path, [response("a", close=True), response("b")])
        with UnixRpc(self.path, 5) as rpc:
            self.assertEqual(rpc.call("m"), "a")
            self.assertEqual(rpc.call("m"), "b")
            self.assertEqual(rpc.connects, 2)
        server.close()

    def test_fault_and_garbage_are_implementation_errors(self):
        fault = xmlrpc.client.dumps(xmlrpc.client.Fault(10, "BAD_NAME"), methodresponse=True)
        garbage = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        body = fault.encode()
        server = Server(self.path, [
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body, garbage])
        with UnixRpc(self.path, 5) as rpc:
            with self.assertRaisesRegex(ImplError, "BAD_NAME"):
                rpc.call("m")
            with self.assertRaisesRegex(ImplError, "unparsable"):
                rpc.call("m")
        server.close()

    def test_missing_socket_reads_as_not_ready(self):
        self.assertIsNone(try_call(self.path, "supervisor.getState", timeout=1))


if __name__ == "__main__":
    unittest.main()
