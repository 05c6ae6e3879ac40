"""PgBouncer in transaction pooling mode in front of a PostgreSQL server."""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STARTUP_SECONDS = 10
# PgBouncer refuses to run as root; Debian's package brings this account.
SERVICE_USER = "postgres"


@dataclass
class PgBouncer:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    def url(self, database: str, user: str = "root") -> str:
        """The SQLAlchemy URL of `database` through the pooler."""
        return f"postgresql+asyncpg://{user}@{self.host}:{self.port}/{database}"

    def log(self) -> str:
        return (self.folder / "pgbouncer.log").read_text(errors="replace")

    def restart(self) -> None:
        """Stop and start again on the same address: every client connection is cut."""
        self.stop()
        self.process = _start(self.folder)
        _wait_for_port(self.host, self.port, self.process, self.folder)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)  # SIGINT: at once (SIGTERM waits for clients)
        try:
            self.process.wait(timeout=STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def available() -> str | None:
    """Why PgBouncer cannot run here, or None."""
    if shutil.which("pgbouncer") is None:
        return "pgbouncer is not installed (Debian package pgbouncer)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root needs the {SERVICE_USER!r} account to run PgBouncer as"
    return None


@contextlib.contextmanager
def running_pgbouncer(
    *,
    server_host: str = "127.0.0.1",
    server_port: int = 5432,
    host: str = "127.0.0.1",
    port: int,
    pool_size: int = 4,
    users: tuple[str, ...] = ("root",),
) -> Iterator[PgBouncer]:
    """PgBouncer on `host:port` pooling every database of the server by transaction, at most
    `pool_size` server connections per database and user; stopped and its files removed at
    the end. Its files are in a folder of its own: the account it runs as must reach them."""
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as name:
        folder = Path(name)
        _configure(folder, server_host, server_port, host, port, pool_size, users)
        process = _start(folder)
        pooler = PgBouncer(host, port, process, folder)
        try:
            _wait_for_port(host, port, process, folder)
            yield pooler
        finally:
            pooler.stop()


def _configure(
    folder: Path,
    server_host: str,
    server_port: int,
    host: str,
    port: int,
    pool_size: int,
    users: tuple[str, ...],
) -> None:
    (folder / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    (folder / "pgbouncer.ini").write_text(
        _CONFIG.format(
            server_host=server_host,
            server_port=server_port,
            host=host,
            port=port,
            pool_size=pool_size,
            folder=folder,
            auth_user=users[0],
        )
    )
    if os.geteuid() == 0:
        shutil.chown(folder, SERVICE_USER)
        for path in folder.iterdir():
            shutil.chown(path, SERVICE_USER)


# Trust, as the server here: the pooler passes each client's user name on; a user not in the
# auth file (a role a test creates) is looked up in the server's catalogue as the first user.
# `server_reset_query` is not run in transaction mode: the app leaves no session state behind.
_CONFIG = """\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = {host}
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
auth_user = {auth_user}
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = $1
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
server_login_retry = 1
logfile = {folder}/pgbouncer.log
log_connections = 0
log_disconnections = 0
"""


def _start(folder: Path) -> subprocess.Popen[bytes]:
    user = SERVICE_USER if os.geteuid() == 0 else None
    return subprocess.Popen(
        ["pgbouncer", str(folder / "pgbouncer.ini")],
        user=user,
        group=user,
        stdout=(folder / "stderr.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({process.returncode}):\n{_log(folder)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on {host}:{port} in time:\n{_log(folder)}")


def _log(folder: Path) -> str:
    paths = [folder / "stderr.log", folder / "pgbouncer.log"]
    return "".join(path.read_text(errors="replace") for path in paths if path.exists())
