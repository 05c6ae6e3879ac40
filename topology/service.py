"""Running Debian's servers from a root session: as their own account, in folders it owns."""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# PostgreSQL and PgBouncer refuse to run as root; Debian's postgresql package brings this account.
SERVICE_USER = "postgres"


def service_user() -> str | None:
    """The account to run servers as: the service account when this is root, else None (as
    this user)."""
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


def run(command: list[str], *, timeout: float, log: Path | None = None) -> None:
    """Runs `command` as the servers' account; its output goes to `log` or into the error."""
    user = service_user()
    output = log.open("ab") if log is not None else subprocess.PIPE
    finished = subprocess.run(
        command, user=user, group=user, stdout=output, stderr=subprocess.STDOUT, timeout=timeout
    )
    if finished.returncode != 0:
        shown = log.read_text(errors="replace") if log is not None else finished.stdout.decode()
        raise RuntimeError(f"{command[0]} failed ({finished.returncode}):\n{shown}")


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
