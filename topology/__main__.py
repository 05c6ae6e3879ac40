"""`python -m topology`: start a piece of the deployment, or all of it, run a command beside
it, stop it.

    uv run python -m topology pgbouncer --port 6432 -- psql -h 127.0.0.1 -p 6432 test
    uv run python -m topology deployment -- sh -c 'curl -s "$LB_URL/health/ready"'

`pgbouncer` pools the PostgreSQL server given on loopback; the command sees its address in
`POOLER_HOST` and `POOLER_PORT`. `deployment` builds every host in network namespaces (root
only) as tests/topology does; the command sees `LB_URL` (the load balancer), `DATABASE_URL`
(the primary, directly) and `APP_URLS` (the app hosts, space-separated). Everything is stopped
and removed when the command ends, and its exit code is this one's.
"""

import argparse
import os
import subprocess
import sys

from sqlalchemy.engine import make_url

from topology import pgbouncer
from topology.deployment import available, deployment, migrate


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m topology", description=__doc__.split("\n")[0])
    pieces = parser.add_subparsers(dest="piece", required=True)
    pooler = pieces.add_parser("pgbouncer", help="PgBouncer in transaction mode, on loopback")
    pooler.add_argument(
        "--server",
        default="postgresql://root@127.0.0.1:5432/test",
        help="the PostgreSQL server to pool (its user is let through)",
    )
    pooler.add_argument("--port", type=int, default=6432)
    pooler.add_argument(
        "--pool-size", type=int, default=4, help="server connections per database and user"
    )
    pooler.add_argument("command", nargs="+", help="what to run while the pooler is up")
    whole = pieces.add_parser("deployment", help="every host, in network namespaces")
    whole.add_argument("--apps", type=int, default=3, help="app hosts behind the balancer")
    whole.add_argument("command", nargs="+", help="what to run while the deployment is up")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    options = parse(argv)
    if options.piece == "pgbouncer":
        return with_pgbouncer(options)
    return with_deployment(options)


def with_pgbouncer(options: argparse.Namespace) -> int:
    reason = pgbouncer.available()
    if reason is not None:
        print(f"cannot start PgBouncer: {reason}", file=sys.stderr)
        return 2
    server = make_url(options.server)
    with pgbouncer.running_pgbouncer(
        server_host=server.host or "127.0.0.1",
        server_port=server.port or 5432,
        port=options.port,
        pool_size=options.pool_size,
        users=(server.username or "root",),
    ):
        environment = {**os.environ, "POOLER_HOST": "127.0.0.1", "POOLER_PORT": str(options.port)}
        return subprocess.run(options.command, env=environment, check=False).returncode


def with_deployment(options: argparse.Namespace) -> int:
    reason = available()
    if reason is not None:
        print(f"cannot build the deployment: {reason}", file=sys.stderr)
        return 2
    with deployment({"LOG_FORMAT": "json"}, migrate, apps=options.apps) as running:
        environment = {
            **os.environ,
            "LB_URL": running.url,
            "DATABASE_URL": running.database_url,
            "APP_URLS": " ".join(server.url for server in running.apps),
        }
        return subprocess.run(options.command, env=environment, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
