"""Hosts of their own on one machine: a network namespace per host, each joined to one bridge by
a veth pair, with an address on a private /24. Only these addresses are ever targets."""

import contextlib
import itertools
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

# 10.<SUBNET_BASE + n>.0.0/24, n from the process id: two topologies at once do not collide.
SUBNET_BASE = 100
BRIDGE_HOST = 1
FIRST_HOST = 10


@dataclass
class Host:
    """One namespace: its name, address, and the root side of its link."""

    name: str
    namespace: str
    address: str
    link: str

    def command(self, command: Sequence[str], *, user: str | None = None) -> list[str]:
        """`command` as run inside the host (as `user`, else as root)."""
        inside = ["ip", "netns", "exec", self.namespace]
        if user is not None:
            inside += ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"]
        return [*inside, *command]

    def cut(self) -> None:
        """Takes the host's link down: it stays up but no packet reaches it or leaves it."""
        _ip("link", "set", self.link, "down")

    def mend(self) -> None:
        _ip("link", "set", self.link, "up")


@dataclass
class Network:
    bridge: str
    gateway: str
    hosts: dict[str, Host] = field(default_factory=dict)


def available() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"probe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False)
    return None


@contextlib.contextmanager
def network(names: Sequence[str]) -> Iterator[Network]:
    """A host per name on one bridge; every namespace, link and the bridge removed at the end."""
    tag = os.getpid() % 100
    prefix = f"10.{SUBNET_BASE + tag}.0"
    made = Network(bridge=f"tbr{tag}", gateway=f"{prefix}.{BRIDGE_HOST}")
    try:
        _ip("link", "add", made.bridge, "type", "bridge")
        _ip("addr", "add", f"{made.gateway}/24", "dev", made.bridge)
        _ip("link", "set", made.bridge, "up")
        for number, name in zip(itertools.count(FIRST_HOST), names, strict=False):
            made.hosts[name] = _host(made, f"t{tag}-{name}", f"{prefix}.{number}", number)
        yield made
    finally:
        for host in made.hosts.values():
            subprocess.run(["ip", "netns", "del", host.namespace], check=False)
        subprocess.run(["ip", "link", "del", made.bridge], capture_output=True, check=False)


def _host(made: Network, namespace: str, address: str, number: int) -> Host:
    outside, inside = f"tv{made.bridge[3:]}x{number}", f"tv{made.bridge[3:]}y{number}"
    host = Host(namespace.split("-", 1)[1], namespace, address, outside)
    _ip("netns", "add", namespace)
    made.hosts[host.name] = host  # removed at the end even if the rest fails
    _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
    _ip("link", "set", inside, "netns", namespace)
    _ip("link", "set", outside, "master", made.bridge)
    _ip("link", "set", outside, "up")
    inner = ["ip", "netns", "exec", namespace, "ip"]
    _run([*inner, "link", "set", "lo", "up"])
    _run([*inner, "link", "set", inside, "name", "eth0"])
    _run([*inner, "addr", "add", f"{address}/24", "dev", "eth0"])
    _run([*inner, "link", "set", "eth0", "up"])
    _run([*inner, "route", "add", "default", "via", made.gateway])
    return host


def _ip(*arguments: str) -> None:
    _run(["ip", *arguments])


def _run(command: list[str]) -> None:
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {finished.stderr.strip()}")
