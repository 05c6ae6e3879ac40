"""The HTTP edge of a real server: request heads are bounded in size, count and time, in
constant memory, without delaying other clients, and bodies in time; pipelined requests, HEAD
and a reused connection work; whatever the parser refuses is answered in the envelope (see
`app.ops.server`)."""

import contextlib
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import throwaway_database
from tests.live import LiveServer, start_server
from tests.secrets_scan import find_secrets

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 3.0
EDGE_SETTINGS = {
    "HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
    "HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
    "RATE_LIMIT_REGISTER_IP": "",
    "RATE_LIMIT_LOGIN_IP": "",
}
MAX_HEADER_BYTES = 32 * 1024


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    """One server for the module: each test opens its own connections."""
    folder = tmp_path_factory.mktemp("edge")
    async with throwaway_database(folder) as database_url:
        started = start_server(database_url, folder, ready=True, **EDGE_SETTINGS)
        try:
            yield started
        finally:
            started.kill()
        assert not find_secrets(started.log())


@contextlib.contextmanager
def connection(server: LiveServer) -> Iterator[socket.socket]:
    port = int(server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        yield sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def read_response(sock: socket.socket) -> bytes:
    """One response with a `Content-Length` body, leaving the connection open."""
    return read_responses(sock, 1)[0]


def read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """`count` responses with `Content-Length` bodies, one after another on the connection."""
    responses: list[bytes] = []
    received = b""

    def more() -> bytes:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(responses)} responses: {received[:200]!r}"
        return chunk

    while len(responses) < count:
        while b"\r\n\r\n" not in received:
            received += more()
        response_head, rest = received.split(b"\r\n\r\n", 1)
        length = next(
            int(line.split(b":")[1])
            for line in response_head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        while len(rest) < length:
            rest += more()
        responses.append(response_head + b"\r\n\r\n" + rest[:length])
        received = rest[length:]
    return responses


def head(*headers: str, path: str = "/health/live") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), orjson.loads(body)


def rss_kib(server: LiveServer) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


class TestHeadSize:
    def test_headers_over_the_limit_answer_431_in_the_envelope(self, server: LiveServer) -> None:
        with connection(server) as sock:
            sock.sendall(head(f"X-Big: {'a' * (MAX_HEADER_BYTES + 1)}"))
            answer = read_until_closed(sock)

        status, body = status_and_body(answer)
        assert status == 431
        assert body["error_code"] == "HEADERS_TOO_LARGE"
        assert f"x-request-id: {body['correlation_id']}".encode() in answer.lower()
        assert "request_head_refused" in server.log()

    def test_a_head_over_the_limit_in_two_reads_answers_431(self, server: LiveServer) -> None:
        """The read in which a head begins counts against it too (a loaded machine split the
        one-piece request above in two, and it was served)."""
        request = head(f"X-Big: {'a' * (MAX_HEADER_BYTES + 1)}", "Connection: close")
        with connection(server) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            half = len(request) // 2
            sock.sendall(request[:half])
            time.sleep(0.05)
            sock.sendall(request[half:])
            answer = read_until_closed(sock)

        assert status_and_body(answer)[0] == 431

    def test_headers_just_under_the_limit_are_served(self, server: LiveServer) -> None:
        with connection(server) as sock:
            sock.sendall(head(f"X-Big: {'a' * (MAX_HEADER_BYTES - 200)}", "Connection: close"))
            answer = read_until_closed(sock)

        assert answer.startswith(b"HTTP/1.1 200")

    def test_a_head_under_the_limit_sent_in_pieces_is_served(self, server: LiveServer) -> None:
        fields = [f"X-{n}: {'v' * 1000}" for n in range(28)]
        request = head(*fields, "Connection: close")
        with connection(server) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for start in range(0, len(request), 1500):
                sock.sendall(request[start : start + 1500])
                time.sleep(0.005)
            answer = read_until_closed(sock)

        assert answer.startswith(b"HTTP/1.1 200")

    def test_more_than_100_header_fields_answer_431(self, server: LiveServer) -> None:
        fields = [f"X-{n}: v" for n in range(98)]  # with Host and Connection: 100
        with connection(server) as sock:
            sock.sendall(head(*fields, "Connection: close"))
            hundred = read_until_closed(sock)
        with connection(server) as sock:
            sock.sendall(head(*fields, "X-One-Too-Many: v", "Connection: close"))
            hundred_and_one = read_until_closed(sock)

        assert hundred.startswith(b"HTTP/1.1 200")
        assert status_and_body(hundred_and_one)[0] == 431

    def test_an_endless_header_is_cut_off_in_constant_memory_while_others_are_served(
        self, server: LiveServer
    ) -> None:
        before = rss_kib(server)
        probes: list[float] = []
        done = threading.Event()

        def probe() -> None:
            while not done.is_set():
                started = time.monotonic()
                assert httpx.get(f"{server.base_url}/health/live", timeout=5).status_code == 200
                probes.append(time.monotonic() - started)
                time.sleep(0.02)

        prober = threading.Thread(target=probe)
        prober.start()
        sent = 0
        try:
            with connection(server) as sock:
                sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    while sent < 100 * 1024 * 1024:
                        sock.sendall(b"a" * 65536)
                        sent += 65536
        finally:
            done.set()
            prober.join()

        assert sent < 8 * 1024 * 1024, "the server kept reading an endless header"
        assert rss_kib(server) - before < 16 * 1024
        assert probes
        assert max(probes) < 1.0


class TestHeadTimeout:
    def test_a_silent_connection_is_closed(self, server: LiveServer) -> None:
        with connection(server) as sock:
            started = time.monotonic()
            answer = read_until_closed(sock)
            waited = time.monotonic() - started

        assert answer == b""
        assert HEADER_TIMEOUT * 0.9 < waited < HEADER_TIMEOUT + 2

    def test_a_head_sent_slowly_is_408_and_closed(self, server: LiveServer) -> None:
        """Slowloris: each byte keeps an ordinary idle timer alive; the deadline counts from
        the first byte of the request."""
        with connection(server) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for n in range(20):
                    time.sleep(0.2)
                    sock.sendall(f"X-{n}: v\r\n".encode())
            answer = read_until_closed(sock)
            waited = time.monotonic() - started

        status, body = status_and_body(answer)
        assert status == 408
        assert body["error_code"] == "REQUEST_TIMEOUT"
        assert waited < HEADER_TIMEOUT + 2

    def test_a_slow_body_is_not_cut_by_the_head_deadline(self, server: LiveServer) -> None:
        payload = orjson.dumps({"email": "slow-body@example.com", "password": "slow body pass"})
        request_head = (
            "POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        with connection(server) as sock:
            sock.sendall(request_head)
            for part in (payload[:10], payload[10:20], payload[20:]):
                time.sleep(HEADER_TIMEOUT * 0.8)
                sock.sendall(part)
            answer = read_until_closed(sock)

        assert answer.startswith(b"HTTP/1.1 201")

    def test_each_request_on_a_kept_alive_connection_gets_its_own_deadline(
        self, server: LiveServer
    ) -> None:
        with connection(server) as sock:
            for _ in range(3):
                time.sleep(HEADER_TIMEOUT * 0.6)
                sock.sendall(head())
                assert read_response(sock).startswith(b"HTTP/1.1 200")


class TestBodyTimeout:
    def test_a_body_that_never_comes_is_408_and_closed(self, server: LiveServer) -> None:
        with connection(server) as sock:
            started = time.monotonic()
            sock.sendall(post_head("/api/v1/auth/login", length=100))
            answer = read_until_closed(sock)
            waited = time.monotonic() - started

        status, body = status_and_body(answer)
        assert (status, body["error_code"]) == (408, "REQUEST_TIMEOUT")
        assert b"x-request-id:" in answer.lower()
        assert BODY_TIMEOUT * 0.9 < waited < BODY_TIMEOUT + 2

    def test_a_trickling_body_is_408_and_closed(self, server: LiveServer) -> None:
        """One byte at a time, each well within any idle timeout: the deadline is the body's
        whole."""
        with connection(server) as sock:
            started = time.monotonic()
            sock.sendall(post_head("/api/v1/auth/login", length=100))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(100):
                    time.sleep(0.25)
                    sock.sendall(b" ")
                    if time.monotonic() - started > BODY_TIMEOUT + 3:
                        break
            answer = read_until_closed(sock)
            waited = time.monotonic() - started

        status, _ = status_and_body(answer)
        assert status == 408
        assert waited < BODY_TIMEOUT + 2

    def test_a_body_the_route_never_reads_does_not_hold_the_connection(
        self, server: LiveServer
    ) -> None:
        with connection(server) as sock:
            sock.sendall(post_head("/health/live", length=100, method="GET"))
            answer = read_response(sock)
            sock.settimeout(2)
            rest = read_until_closed(sock)

        assert answer.startswith(b"HTTP/1.1 200")
        assert rest == b""


class TestConnectionReuse:
    def test_head_then_get_on_one_connection(self, server: LiveServer) -> None:
        """HEAD used to leave the server expecting a body, so it dropped the connection and
        the next request on it was reset."""
        with connection(server) as sock:
            sock.sendall(head().replace(b"GET ", b"HEAD ", 1))
            answered = b""
            while b"\r\n\r\n" not in answered:
                answered += sock.recv(65536)
            sock.sendall(head())
            following = read_response(sock)

        assert answered.startswith(b"HTTP/1.1 200")
        assert answered.endswith(b"\r\n\r\n")  # headers only
        assert following.startswith(b"HTTP/1.1 200")
        assert "Response content shorter" not in server.log()

    def test_hundreds_of_pipelined_requests_are_all_answered(self, server: LiveServer) -> None:
        """40 KB of whole requests and the start of one more in a read: only that start is a
        head still to come."""
        count = 900
        with connection(server) as sock:
            sock.sendall(head() * count + head()[:20])
            time.sleep(0.2)
            sock.sendall(head()[20:])
            answers = read_responses(sock, count + 1)

        assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)

    def test_a_large_body_then_a_pipelined_request(self, server: LiveServer) -> None:
        payload = orjson.dumps({"email": "large@example.com", "password": "x" * 40_000})
        with connection(server) as sock:
            request = post_head("/api/v1/auth/login", length=len(payload)) + payload
            sock.sendall(request + head()[:20])
            time.sleep(0.2)
            sock.sendall(head()[20:])
            login, following = read_responses(sock, 2)

        assert login.startswith(b"HTTP/1.1 422")  # the password is too long, not the head
        assert following.startswith(b"HTTP/1.1 200")


class TestRefusedByTheParser:
    @pytest.mark.parametrize(
        ("request_bytes", "detail"),
        [
            (b"NOT HTTP AT ALL\r\n\r\n", "Invalid HTTP request received"),
            (
                b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",
                "Send one Host header",
            ),
            (b"GET /health/live HTTP/1.1\r\n\r\n", "An HTTP/1.1 request needs a Host header"),
        ],
        ids=["garbage", "two hosts", "no host"],
    )
    def test_is_400_in_the_envelope(
        self, server: LiveServer, request_bytes: bytes, detail: str
    ) -> None:
        with connection(server) as sock:
            sock.sendall(request_bytes)
            answer = read_until_closed(sock)

        status, body = status_and_body(answer)
        assert (status, body["error_code"], body["detail"]) == (400, "BAD_REQUEST", detail)
        assert b"x-request-id: " + str(body["correlation_id"]).encode() in answer.lower()

    def test_http_1_0_needs_no_host(self, server: LiveServer) -> None:
        with connection(server) as sock:
            sock.sendall(b"GET /health/live HTTP/1.0\r\n\r\n")
            answer = read_until_closed(sock)

        assert answer.startswith(b"HTTP/1.1 200")


def post_head(path: str, *, length: int, method: str = "POST") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_serve_raises_the_open_file_limit_to_the_hard_limit(tmp_path: Path) -> None:
    """Each connection holds a descriptor; a soft limit of 256 would let 256 idle sockets
    starve everyone until their header deadline."""
    script = (
        "import resource\n"
        "_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from app.ops.server import raise_open_file_limit\n"
        "print(raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)\n"
    )

    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.split()

    raised, soft, hard = (int(value) for value in output)
    assert raised == soft == (1_048_576 if hard == resource.RLIM_INFINITY else hard)
