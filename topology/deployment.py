"""The whole topology: a load balancer, app hosts, a transaction pooler, a primary database and
a cache, each a host of its own (network namespaces), the way several machines would run it.

    lb (nginx :8080) ─┬─ app1 ─┐                  ┌─ db1 (PostgreSQL, primary)
                      ├─ app2 ─┼─ pooler (PgBouncer, transaction) ─┘
                      └─ app3 ─┘
                           └──── cache (Redis)
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from topology import network as namespaces
from topology import pgbouncer, postgres, servers
from topology.network import Network
from topology.pgbouncer import PgBouncer, running_pgbouncer
from topology.postgres import Cluster, running_primary
from topology.servers import APP_PORT, Server, app, balance, nginx, redis, running
from topology.service import SERVICE_USER, own_folder

DATABASE = "app"
POOLER_PORT = 6432
# How long a drained host is left to finish what the balancer sent it before it is stopped:
# nginx's old workers finish their requests and close their connections to it.
DRAIN_SECONDS = 1.0


@dataclass
class Deployment:
    network: Network
    folder: Path
    primary: Cluster
    pooler: PgBouncer
    cache: Server
    apps: list[Server]
    lb: Server
    app_settings: dict[str, str]

    @property
    def url(self) -> str:
        """Where clients reach the service: the load balancer."""
        return self.lb.url

    @property
    def database_url(self) -> str:
        """The primary, directly (for migrations and for checking what was written)."""
        return self.primary.url(DATABASE)

    @property
    def upstreams(self) -> list[str]:
        return [f"{server.place.address}:{server.port}" for server in self.apps]

    def restart_app(self, index: int) -> float:
        """Restarts app host `index` as a rolling deployment does: drained at the balancer
        first (nginx reloads without it; requests it has in flight finish), stopped with
        SIGTERM, started with the same settings, and taken back once it listens. Returns the
        seconds it was out of the balancer."""
        old = self.apps[index]
        drained = time.monotonic()
        self.rebalance(drained=self.upstreams[index])
        time.sleep(DRAIN_SECONDS)
        old.stop()
        new = app(old.name, old.place, self.folder, self.app_settings)
        self.apps[index] = new
        new.wait_until_listening()
        self.rebalance()
        return time.monotonic() - drained

    def rebalance(self, drained: str | None = None) -> None:
        """Rewrites the balancer's upstreams and reloads it (SIGHUP): new workers take the new
        list, old ones finish their requests and exit."""
        balance(self.lb.place, self.folder, self.upstreams, port=self.lb.port, drained=drained)
        self.lb.process.send_signal(signal.SIGHUP)


def available() -> str | None:
    """Why the deployment cannot be built here, or None."""
    checks = (namespaces.available, postgres.available, pgbouncer.available, servers.available)
    return next((reason for check in checks if (reason := check()) is not None), None)


@contextlib.contextmanager
def deployment(
    environment: Mapping[str, str], migrate: Callable[[str], None], *, apps: int = 3
) -> Iterator[Deployment]:
    """Every host started and ready (the database migrated by `migrate(url)` over a direct
    connection); everything stopped and removed at the end, even when a host fails to start.
    `environment` is the app hosts' settings on top of those the topology sets."""
    names = ["lb", *(f"app{number}" for number in range(1, apps + 1)), "pooler", "db1", "cache"]
    with namespaces.network(names) as net, own_folder("deployment-") as folder:
        hosts = net.hosts
        with running_primary(place=hosts["db1"]) as primary:
            primary.sql(f"CREATE DATABASE {DATABASE}")
            migrate(primary.url(DATABASE))
            with (
                running_pgbouncer(
                    server_host=primary.host,
                    place=hosts["pooler"],
                    port=POOLER_PORT,
                    pool_size=10,
                    users=(SERVICE_USER,),
                ) as pooler,
                running(redis(hosts["cache"], folder)) as cache,
                contextlib.ExitStack() as stack,
            ):
                settings = {
                    **environment,
                    "DATABASE_URL": pooler.url(DATABASE, user=SERVICE_USER),
                    "DB_POOLER": "transaction",
                    "REDIS_URL": f"redis://{cache.place.address}:{cache.port}/0",
                    "FORWARDED_ALLOW_IPS": hosts["lb"].address,
                    "AUTO_MIGRATE": "false",
                }
                started = [
                    app(name, hosts[name], folder, settings) for name in names if name[:3] == "app"
                ]
                # The hosts running at the end: a drill may have replaced some.
                stack.callback(_halt, started)
                for server in started:
                    server.wait_until_listening()
                upstreams = [f"{server.place.address}:{APP_PORT}" for server in started]
                lb = stack.enter_context(running(nginx(hosts["lb"], folder, upstreams)))
                yield Deployment(net, folder, primary, pooler, cache, started, lb, settings)


def _halt(servers: list[Server]) -> None:
    for server in servers:
        server.halt()


def migrate(database_url: str) -> None:
    """`app db upgrade` of this checkout against `database_url`."""
    subprocess.run(
        [sys.executable, "-m", "app", "db", "upgrade"],
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )
