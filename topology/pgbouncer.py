"""PgBouncer in transaction pooling mode in front of a PostgreSQL server."""

import contextlib
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from topology.service import (
    LOOPBACK,
    Place,
    give,
    missing_account,
    own_folder,
    start,
    wait_for_port,
)

STARTUP_SECONDS = 10


@dataclass
class PgBouncer:
    place: Place
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return self.place.address

    def url(self, database: str, user: str = "root") -> str:
        """The SQLAlchemy URL of `database` through the pooler."""
        return f"postgresql+asyncpg://{user}@{self.host}:{self.port}/{database}"

    def log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in (self.folder / "stderr.log", self.folder / "pgbouncer.log")
            if path.exists()
        )

    def start(self) -> None:
        command = ["pgbouncer", str(self.folder / "pgbouncer.ini")]
        self.process = start(self.place, command, self.folder / "stderr.log")
        try:
            wait_for_port(self.host, self.port, STARTUP_SECONDS, self.running)
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{error}\n{self.log()}") from error

    def restart(self) -> None:
        """Stops at once and starts again on the same address: every connection is cut."""
        self.stop()
        self.start()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
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
    return missing_account()


@contextlib.contextmanager
def running_pgbouncer(
    *,
    server_host: str = "127.0.0.1",
    server_port: int = 5432,
    place: Place = LOOPBACK,
    port: int,
    pool_size: int = 4,
    users: tuple[str, ...] = ("root",),
) -> Iterator[PgBouncer]:
    """PgBouncer at `place`, on `port`, pooling every database of the server by transaction, at most
    `pool_size` server connections per database and user; stopped and its files removed at
    the end."""
    with own_folder("pgbouncer-") as folder:
        (folder / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
        (folder / "pgbouncer.ini").write_text(
            _CONFIG.format(
                server_host=server_host,
                server_port=server_port,
                host=place.address,
                port=port,
                pool_size=pool_size,
                folder=folder,
                auth_user=users[0],
            )
        )
        give(*folder.iterdir())
        pooler = PgBouncer(place, port, folder)
        pooler.start()
        try:
            yield pooler
        finally:
            pooler.stop()


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
