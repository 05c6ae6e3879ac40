"""PostgreSQL clusters of their own, made with Debian's binaries: a primary and streaming hot
standbys (`pg_basebackup`), each with its data directory and port, stopped and removed at the end.
"""

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from topology.service import (
    LOOPBACK,
    SERVICE_USER,
    Place,
    missing_account,
    own_folder,
    run,
    service_user,
)

BIN = Path("/usr/lib/postgresql/15/bin")
SECONDS = 60
# What a short-lived cluster for tests needs; durability is not among it.
_SETTINGS = """
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{folder}'
max_connections = 200
shared_buffers = 64MB
wal_level = replica
max_wal_senders = 10
wal_keep_size = 256MB
hot_standby = on
hot_standby_feedback = on
fsync = off
synchronous_commit = off
full_page_writes = off
"""
_HBA = """
local all all trust
host all all 0.0.0.0/0 trust
host replication all 0.0.0.0/0 trust
"""


@dataclass
class Cluster:
    """One PostgreSQL server: its data directory, address and log."""

    name: str
    data: Path
    place: Place
    port: int

    @property
    def host(self) -> str:
        return self.place.address

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.name}.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{SERVICE_USER}@{self.host}:{self.port}/{database}"

    def start(self) -> None:
        run(self.place, _ctl(self, "start", "-l", str(self.log)), timeout=SECONDS + 5)

    def stop(self, mode: str = "fast") -> None:
        """`fast`: roll back sessions and shut down cleanly; `immediate`: as a crash would."""
        run(self.place, _ctl(self, "stop", "-m", mode), timeout=SECONDS + 5)

    def promote(self) -> None:
        """Ends a standby's recovery: it takes writes from now on."""
        run(self.place, _ctl(self, "promote"), timeout=SECONDS + 5)

    def running(self) -> bool:
        status = subprocess.run(
            self.place.command(
                [str(BIN / "pg_ctl"), "status", "-D", str(self.data)], user=service_user()
            ),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def sql(self, statement: str, database: str = "postgres") -> str:
        """`statement`'s result as psql prints it unaligned (`-At`)."""
        finished = subprocess.run(
            [
                "psql",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                SERVICE_USER,
                "-d",
                database,
                "-Atc",
                statement,
            ],
            capture_output=True,
            text=True,
            timeout=SECONDS,
            check=True,
        )
        return finished.stdout.strip()


def available() -> str | None:
    """Why clusters cannot be made here, or None."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL 15 binaries in {BIN} (Debian package postgresql-15)"
    if shutil.which("psql") is None:
        return "psql is not installed (Debian package postgresql-client)"
    return missing_account()


@contextlib.contextmanager
def running_primary(*, place: Place = LOOPBACK, port: int = 5432) -> Iterator[Cluster]:
    """A new primary at `place` on `port`, trusting every connection, with room for standbys."""
    with own_folder("postgres-") as folder:
        primary = Cluster("db1", folder / "db1", place, port)
        run(
            place,
            [
                str(BIN / "initdb"),
                "-D",
                str(primary.data),
                "-U",
                SERVICE_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            timeout=SECONDS,
            log=folder / "initdb.log",
        )
        _configure(primary, (primary.data / "postgresql.conf"), "")
        (primary.data / "pg_hba.conf").write_text(_HBA)
        with _started(primary):
            yield primary


@contextlib.contextmanager
def running_standby(
    primary: Cluster,
    *,
    name: str = "db2",
    place: Place = LOOPBACK,
    port: int = 5432,
    apply_delay: timedelta = timedelta(0),
) -> Iterator[Cluster]:
    """A hot standby of `primary` streaming its WAL, replaying it `apply_delay` late."""
    standby = Cluster(name, primary.data.parent / name, place, port)
    run(
        place,
        [
            str(BIN / "pg_basebackup"),
            "-h",
            primary.host,
            "-p",
            str(primary.port),
            "-U",
            SERVICE_USER,
            "-D",
            str(standby.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
        timeout=SECONDS,
        log=primary.data.parent / f"{name}-basebackup.log",
    )
    delay = f"recovery_min_apply_delay = '{int(apply_delay.total_seconds() * 1000)}ms'\n"
    _configure(standby, standby.data / "postgresql.auto.conf", delay)
    with _started(standby):
        yield standby


@contextlib.contextmanager
def _started(cluster: Cluster) -> Iterator[None]:
    cluster.start()
    try:
        yield
    finally:
        if cluster.running():
            cluster.stop()


def _configure(cluster: Cluster, path: Path, extra: str) -> None:
    settings = _SETTINGS.format(host=cluster.host, port=cluster.port, folder=cluster.data.parent)
    with path.open("a") as conf:
        conf.write(settings + extra)


def _ctl(cluster: Cluster, action: str, *options: str) -> list[str]:
    return [
        str(BIN / "pg_ctl"),
        action,
        "-D",
        str(cluster.data),
        "-w",
        "-t",
        str(SECONDS),
        *options,
    ]
