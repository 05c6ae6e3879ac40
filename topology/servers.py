"""The other servers of the topology: Redis for the cache host, nginx for the load balancer, and
`app serve` for the app hosts; each started at a place and stopped at the end."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from topology.service import Place, give, start, wait_for_port

STARTUP_SECONDS = 30
APP_PORT = 8000


@dataclass
class Server:
    """A process listening at `place` on `port`, with its log."""

    name: str
    place: Place
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.place.address}:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_until_listening(self) -> None:
        try:
            wait_for_port(self.place.address, self.port, STARTUP_SECONDS, self.running)
        except RuntimeError as error:
            raise RuntimeError(f"{self.name}: {error}\n{self.output()}") from error

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, number: signal.Signals) -> None:
        """Sends `number` to the server's process group (a supervisor and its workers)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def halt(self) -> None:
        """Stops the server if it still runs."""
        if self.running():
            self.stop()

    def stop(self, timeout: float = STARTUP_SECONDS) -> int:
        """SIGTERM, then SIGKILL after `timeout`; the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.process.wait()


def available() -> str | None:
    """Why the load balancer or the cache cannot run here, or None."""
    for program, package in (("nginx", "nginx"), ("redis-server", "redis-server")):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian package {package})"
    return None


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """`server` once it listens; stopped at the end, even when it never came up."""
    try:
        server.wait_until_listening()
        yield server
    finally:
        server.halt()


def redis(place: Place, folder: Path, port: int = 6379) -> Server:
    """Redis keeping nothing on disk, as the cache host runs it."""
    log = folder / "redis.log"
    command = ["redis-server", "--bind", place.address, "--port", str(port), "--save", ""]
    command += ["--appendonly", "no", "--protected-mode", "no", "--dir", str(folder)]
    return Server("cache", place, port, start(place, command, log), log)


def app(
    name: str, place: Place, folder: Path, environment: Mapping[str, str], *args: str
) -> Server:
    """`app serve` of this checkout on the host, as root (it binds no privileged port and
    needs the project's virtual environment)."""
    log = folder / f"{name}.log"
    command = [sys.executable, "-m", "app", "serve", "--host", place.address]
    command += ["--port", str(APP_PORT), *args]
    process = start(place, command, log, environment=environment, as_service=False, cwd=folder)
    return Server(name, place, APP_PORT, process, log)


def nginx(place: Place, folder: Path, upstreams: Sequence[str], port: int = 8080) -> Server:
    """nginx balancing over `upstreams` (`address:port`); see `balance` for the rules."""
    for temp in _TEMPORARY:
        (folder / temp).mkdir(exist_ok=True)
        give(folder / temp)
    balance(place, folder, upstreams, port=port)
    log = folder / "nginx.log"
    command = ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", "stderr"]
    return Server("lb", place, port, start(place, command, log), log)


def balance(
    place: Place, folder: Path, upstreams: Sequence[str], *, port: int, drained: str | None = None
) -> None:
    """Writes the balancer's configuration: every upstream but `drained` takes requests. A
    host that fails to connect or answers 502/504 is passed over for `fail_timeout`, and the
    request goes to the next host when nginx has not sent it yet or it is idempotent. A 503 is
    passed to the client as it is: it means a shared dependency is down or the host sheds load,
    and sending the request elsewhere would only add to it (the answer says when to retry)."""
    servers = "".join(
        f"    server {upstream} max_fails=1 fail_timeout=2s{' down' * (upstream == drained)};\n"
        for upstream in upstreams
    )
    (folder / "nginx.conf").write_text(
        _NGINX.format(folder=folder, servers=servers, address=place.address, port=port)
    )


_TEMPORARY = ("body", "proxy", "fastcgi", "uwsgi", "scgi")
# Runs as the servers' account (started so by `start`): its files are in `folder`.
_NGINX = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log {folder}/access.log;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi;
  scgi_temp_path {folder}/scgi;
  upstream app {{
{servers}    keepalive 64;
  }}
  server {{
    listen {address}:{port};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Request-ID $request_id;
      proxy_next_upstream error timeout http_502 http_504;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 1s;
      proxy_read_timeout 35s;
    }}
  }}
}}
"""
