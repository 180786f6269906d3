"""The gateway targets a Client accepts: host:port, http://, https:// and IPv6 literals.

Run against the installed package (CI does, in the fresh venv that ran `pip install
./clients/python`): python -m unittest discover -s clients/python/tests -v
"""

import socket
import unittest
from concurrent import futures
from unittest import mock

import grpc

from qencode_gateway_client import Client, GatewayError, parse_target
from qencode_gateway_client.v1 import transcoding_pb2, transcoding_pb2_grpc


class ParseTarget(unittest.TestCase):
    def test_host_port_passes_as_is(self):
        for target in ("127.0.0.1:50051", "localhost:50051", "gw.example.com:443", "[::1]:50051",
                       "dns:///localhost:50051", "ipv4:127.0.0.1:50051", "ipv6:[::1]:50051", "unix:/run/gw.sock"):
            with self.subTest(target=target):
                self.assertEqual(parse_target(target), (target, None))

    def test_http_is_plaintext(self):
        self.assertEqual(parse_target("http://127.0.0.1:50051"), ("127.0.0.1:50051", False))
        self.assertEqual(parse_target("http://localhost:50051/"), ("localhost:50051", False))
        self.assertEqual(parse_target("HTTP://LocalHost:50051"), ("localhost:50051", False))
        self.assertEqual(parse_target("http://gw"), ("gw:80", False))

    def test_https_is_tls(self):
        self.assertEqual(parse_target("https://gw.example.com:8443"), ("gw.example.com:8443", True))
        self.assertEqual(parse_target("https://gw.example.com"), ("gw.example.com:443", True))

    def test_ipv6_literals(self):
        self.assertEqual(parse_target("http://[::1]:50051"), ("[::1]:50051", False))
        self.assertEqual(parse_target("https://[::1]:50051"), ("[::1]:50051", True))
        self.assertEqual(parse_target("http://[::1]"), ("[::1]:80", False))

    def test_refused(self):
        for target in ("", "http://", "http://:50051", "http://gw:port", "http://gw:70000",
                       "http://gw:50051/v1", "http://gw:50051?x=1", "http://user@gw:50051"):
            with self.subTest(target=target), self.assertRaises(ValueError):
                parse_target(target)


class ChannelKind(unittest.TestCase):
    """Which grpcio channel the Client opens, and to what address."""

    def open(self, target, **kwargs):
        with mock.patch.object(grpc, "insecure_channel") as insecure, mock.patch.object(grpc, "secure_channel") as secure:
            Client(target, **kwargs)
        return insecure, secure

    def test_plaintext(self):
        for target, address in (("localhost:50051", "localhost:50051"), ("http://127.0.0.1:50051", "127.0.0.1:50051"),
                                ("http://[::1]:50051", "[::1]:50051")):
            with self.subTest(target=target):
                insecure, secure = self.open(target)
                insecure.assert_called_once_with(address)
                secure.assert_not_called()

    def test_https_uses_default_roots(self):
        with mock.patch.object(grpc, "ssl_channel_credentials") as ssl:
            insecure, secure = self.open("https://gw.example.com:8443")
        ssl.assert_called_once_with(root_certificates=None)
        secure.assert_called_once_with("gw.example.com:8443", ssl.return_value)
        insecure.assert_not_called()

    def test_https_with_ca(self):
        with mock.patch.object(grpc, "ssl_channel_credentials") as ssl:
            _, secure = self.open("https://gw.example.com:8443", ca=b"PEM")
        ssl.assert_called_once_with(root_certificates=b"PEM")
        secure.assert_called_once_with("gw.example.com:8443", ssl.return_value)

    def test_given_credentials(self):
        credentials = object()
        for target, address in (("https://gw:8443", "gw:8443"), ("gw:8443", "gw:8443")):
            with self.subTest(target=target):
                _, secure = self.open(target, credentials=credentials)
                secure.assert_called_once_with(address, credentials)

    def test_http_with_tls_settings_is_refused(self):
        with self.assertRaises(ValueError):
            Client("http://gw:50051", ca=b"PEM")
        with self.assertRaises(ValueError):
            Client("http://gw:50051", credentials=grpc.ssl_channel_credentials())


class _Transcoding(transcoding_pb2_grpc.TranscodingServicer):
    def GetStatus(self, request, context):
        return transcoding_pb2.GetStatusResponse(unknown_task_tokens=request.task_tokens)


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


class RealCalls(unittest.TestCase):
    """Each form reaches a real gRPC server on loopback (a stand-in Transcoding service)."""

    @classmethod
    def setUpClass(cls):
        cls.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        transcoding_pb2_grpc.add_TranscodingServicer_to_server(_Transcoding(), cls.server)
        cls.port = cls.server.add_insecure_port("127.0.0.1:0")
        cls.ipv6 = _has_ipv6_loopback() and cls.server.add_insecure_port(f"[::1]:{cls.port}") == cls.port
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(None)

    def call(self, target):
        with Client(target, timeout=10) as client:
            self.assertEqual(list(client.get_status("t1").unknown_task_tokens), ["t1"])

    def test_ipv4_forms(self):
        for target in (f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"http://127.0.0.1:{self.port}",
                       f"http://localhost:{self.port}"):
            with self.subTest(target=target):
                self.call(target)

    def test_ipv6_forms(self):
        if not self.ipv6:
            self.skipTest("no IPv6 loopback on this machine")
        for target in (f"[::1]:{self.port}", f"http://[::1]:{self.port}"):
            with self.subTest(target=target):
                self.call(target)

    def test_https_to_a_plaintext_server_fails(self):
        # TLS is really used: a plaintext server cannot answer the handshake.
        with Client(f"https://localhost:{self.port}", timeout=5) as client, self.assertRaises(GatewayError) as caught:
            client.get_status("t1")
        self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)
        self.assertRegex(str(caught.exception), "SSL|TLS|[Tt]ls")


if __name__ == "__main__":
    unittest.main()
