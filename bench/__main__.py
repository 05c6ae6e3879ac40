"""`python -m bench`: every scenario against the app and the floor; writes a dated report.

    uv run python -m bench                       # full run: about half an hour
    uv run python -m bench --scenarios users_me --duration 5 --repeats 1

Needs wrk (`apt-get install wrk`) and a PostgreSQL server where it may create databases.
"""

import argparse
import shlex
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench.report import chart, markdown
from bench.runner import SCENARIOS, Bench, Options, save

RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--server",
        default="postgresql://root@127.0.0.1:5432/test",
        help="a PostgreSQL database to connect to; benchmark databases are created beside it",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--connections", default="32,256", help="comma-separated")
    parser.add_argument("--duration", type=int, default=10, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds before each timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--items", type=int, default=10_000, help="seeded items per user")
    parser.add_argument("--workers", type=int, default=1, help="the app's worker processes")
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/12",
        help="the app's REDIS_URL (shared rate limits, the auth cache across workers); empty for "
        "none (then only a single worker caches)",
    )
    parser.add_argument("--timeout", type=int, default=15, help="wrk's per-request timeout (s)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--name", default=date.today().isoformat(), help="report file name")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        options = Options(
            server_url=args.server,
            scenarios=tuple(args.scenarios.split(",")),
            connections=tuple(int(c) for c in args.connections.split(",")),
            duration=args.duration,
            warmup=args.warmup,
            repeats=args.repeats,
            items=args.items,
            workers=args.workers,
            timeout=args.timeout,
            workdir=Path(workdir),
            redis_url=args.redis,
        )
        runs = Bench(options).run()
    save(runs, args.output / f"{args.name}.json")
    chart(runs, args.output / f"{args.name}.png")
    command = shlex.join(["uv", "run", "python", "-m", "bench", *argv])
    report = markdown(runs, options, command, f"{args.name}.png")
    (args.output / f"{args.name}.md").write_text(report)
    print(f"\nwrote {args.output / args.name}.md, .png and .json")


if __name__ == "__main__":
    main(sys.argv[1:])
