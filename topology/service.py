"""Running Debian's servers from a root session: on a host (a network namespace, or this
machine's loopback), as their own account, in folders that account owns."""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# PostgreSQL and PgBouncer refuse to run as root; Debian's postgresql package brings this account.
SERVICE_USER = "postgres"


class Place(Protocol):
    """Where a server runs: its address, and how a command is run there."""

    @property
    def address(self) -> str: ...

    def command(self, command: Sequence[str], *, user: str | None = None) -> list[str]: ...


@dataclass(frozen=True)
class Loopback:
    """This machine, on 127.0.0.1."""

    address: str = "127.0.0.1"

    def command(self, command: Sequence[str], *, user: str | None = None) -> list[str]:
        return [*as_user(user), *command]


LOOPBACK = Loopback()


def as_user(user: str | None) -> list[str]:
    """The prefix that runs a command as `user` (nothing when that is who runs it already)."""
    if user is None or os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"]


def service_user() -> str | None:
    """The account servers run as: the service account when this is root, else this user."""
    return SERVICE_USER if os.geteuid() == 0 else None


def missing_account() -> str | None:
    """Why servers cannot be started from this account, or None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return f"running as root needs the {SERVICE_USER!r} account to run the servers as"
    return None


@contextlib.contextmanager
def own_folder(prefix: str) -> Iterator[Path]:
    """A new folder the servers' account owns; removed with everything in it at the end."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        folder = Path(name)
        give(folder)
        yield folder


def give(*paths: Path) -> None:
    """Hands `paths` to the servers' account (when this is root)."""
    user = service_user()
    if user is not None:
        for path in paths:
            shutil.chown(path, user, user)


def run(place: Place, command: list[str], *, timeout: float, log: Path | None = None) -> None:
    """Runs `command` at `place` as the servers' account; its output goes to `log`, or into
    the error when it fails."""
    output = log.open("ab") if log is not None else subprocess.PIPE
    finished = subprocess.run(
        place.command(command, user=service_user()),
        stdout=output,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    if finished.returncode != 0:
        shown = log.read_text(errors="replace") if log is not None else finished.stdout.decode()
        raise RuntimeError(f"{command[0]} failed ({finished.returncode}):\n{shown}")


def start(
    place: Place,
    command: list[str],
    log: Path,
    *,
    environment: Mapping[str, str] | None = None,
    as_service: bool = True,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """`command` at `place`, as the servers' account (else as this user), in a session of its
    own, with `environment` on top of this one's, output to `log`."""
    user = service_user() if as_service else None
    return subprocess.Popen(
        place.command(command, user=user),
        env={**os.environ, **(environment or {})},
        cwd=cwd,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_port(host: str, port: int, seconds: float, alive: Callable[[], bool]) -> None:
    """Returns once `host:port` accepts connections; raises when `alive()` turns false or in
    `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server for {host}:{port} exited")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on {host}:{port} within {seconds:.0f} s")
