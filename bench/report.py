"""The Markdown table and PNG chart of a benchmark: medians with min-max, ratios to the floor."""

import os
import platform
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.runner import APPS, SCENARIOS, Options, Run

# The targets of the performance contract at c=32.
MIN_THROUGHPUT_RATIO, MAX_P99_RATIO = 0.5, 2.0


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> "Spread":
        values = list(values)
        return cls(statistics.median(values), min(values), max(values))

    def show(self, digits: int = 0) -> str:
        if self.low == self.high:
            return f"{self.median:,.{digits}f}"
        return f"{self.median:,.{digits}f} ({self.low:,.{digits}f}-{self.high:,.{digits}f})"


@dataclass(frozen=True)
class Row:
    scenario: str
    connections: int
    app: list[Run]
    floor: list[Run]

    def spread(self, app: str, value: Callable[[Run], float]) -> Spread:
        return Spread.of(value(run) for run in (self.app if app == "app" else self.floor))

    @property
    def throughput_ratio(self) -> float:
        floor = self.spread("floor", lambda run: run.rate).median
        return self.spread("app", lambda run: run.rate).median / floor if floor else 0.0

    @property
    def p99_ratio(self) -> float:
        floor = self.spread("floor", lambda run: run.p99_ms).median
        return self.spread("app", lambda run: run.p99_ms).median / floor if floor else 0.0

    @property
    def per_row_cpu(self) -> str:
        """CPU per listed row, app / floor: what a page costs beyond its request."""
        count = SCENARIOS[self.scenario].rows
        if not count:
            return "-"
        app, floor = (self.spread(side, lambda r: r.cpu_us_per_request) for side in APPS)
        return f"{app.median / count:,.1f} / {floor.median / count:,.1f}"


def rows(runs: list[Run]) -> list[Row]:
    keys = dict.fromkeys((run.scenario, run.connections) for run in runs)
    return [
        Row(
            scenario,
            connections,
            [
                r
                for r in runs
                if (r.scenario, r.connections, r.app) == (scenario, connections, "app")
            ],
            [
                r
                for r in runs
                if (r.scenario, r.connections, r.app) == (scenario, connections, "floor")
            ],
        )
        for scenario, connections in keys
    ]


def markdown(runs: list[Run], options: Options, command: str, chart: str) -> str:
    redis = options.redis_url or _without_redis(options.workers)
    lines = [
        "# Benchmark: the app against the floor",
        "",
        f"`{command}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, PostgreSQL on loopback. Each run: a fresh copy "
        f"of the seeded database ({options.items:,} items per user), a fresh server process "
        f"({options.workers} worker; Redis: {redis}), "
        f"{options.warmup} s warm-up, {options.duration} s of wrk "
        f"(2 threads); {options.repeats} repeats alternating which app goes first. "
        "Figures are medians with (min-max); req/s counts 2xx answers (non-2xx are listed "
        "apart); ratios compare medians; CPU is the server process's user + system time per "
        "request (any answer).",
        "",
        "| Scenario | c | app req/s | floor req/s | ratio | app p50 ms | app p99 ms | "
        "floor p99 ms | p99 ratio | app CPU µs/req | floor CPU µs/req | CPU µs/row (app/floor) | "
        "non-2xx (app/floor) | socket errors (app/floor) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows(runs):
        lines.append(
            "| "
            + " | ".join(
                [
                    SCENARIOS[row.scenario].title,
                    str(row.connections),
                    row.spread("app", lambda r: r.rate).show(),
                    row.spread("floor", lambda r: r.rate).show(),
                    f"{row.throughput_ratio:.2f}",
                    row.spread("app", lambda r: r.p50_ms).show(1),
                    row.spread("app", lambda r: r.p99_ms).show(1),
                    row.spread("floor", lambda r: r.p99_ms).show(1),
                    f"{row.p99_ratio:.2f}",
                    row.spread("app", lambda r: r.cpu_us_per_request).show(),
                    row.spread("floor", lambda r: r.cpu_us_per_request).show(),
                    row.per_row_cpu,
                    f"{_statuses(row.app)} / {_statuses(row.floor)}",
                    f"{sum(r.socket_errors for r in row.app)} / "
                    f"{sum(r.socket_errors for r in row.floor)}",
                ]
            )
            + " |"
        )
    lines += ["", f"![throughput and ratios]({chart})", "", *answered(runs)]
    return "\n".join(lines)


def answered(runs: list[Run]) -> list[str]:
    """Never collapse: what the app itself answered in the timed runs, from its access log,
    read after the server went idle again (wrk does not wait for what it has in flight)."""
    lines = [
        "## Every request answered",
        "",
        "The app's access log for the timed runs (all repeats), read once the server was idle "
        "again: it includes the requests wrk still had in flight when it stopped.",
        "",
        "| Scenario | c | answered by the app | seen by wrk | answers by status | "
        "slowest answer ms |",
        "|---|--:|--:|--:|---|--:|",
    ]
    for row in rows(runs):
        served: dict[str, int] = {}
        for run in row.app:
            for status, n in run.served.items():
                served[status] = served.get(status, 0) + n
        lines.append(
            f"| {SCENARIOS[row.scenario].title} | {row.connections} "
            f"| {sum(served.values()):,} | {sum(r.requests for r in row.app):,} "
            f"| {', '.join(f'{n:,}x {s}' for s, n in sorted(served.items())) or '-'} "
            f"| {max((r.served_max_ms for r in row.app), default=0):,.0f} |"
        )
    return [*lines, ""]


def _statuses(runs: list[Run]) -> str:
    counts: dict[str, int] = {}
    for run in runs:
        for status, n in run.statuses.items():
            if not status.startswith("2"):
                counts[status] = counts.get(status, 0) + n
    missing = sum(run.missing_retry_after for run in runs)
    shown = ", ".join(f"{n}x {status}" for status, n in sorted(counts.items())) or "0"
    return shown + (f" ({missing} without Retry-After)" if missing else "")


def chart(runs: list[Run], path: Path) -> None:
    """Left: req/s of both apps at the lowest concurrency (log scale). Right: app/floor
    throughput ratio at every concurrency, with the 0.5 target."""
    table = rows(runs)
    scenarios = list(dict.fromkeys(row.scenario for row in table))
    levels = sorted({row.connections for row in table})
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    positions = range(len(scenarios))
    lowest = {row.scenario: row for row in table if row.connections == levels[0]}
    for offset, app, colour in ((-0.2, "app", "tab:blue"), (0.2, "floor", "tab:gray")):
        heights = [lowest[s].spread(app, lambda r: r.rate).median for s in scenarios]
        left.bar([p + offset for p in positions], heights, width=0.4, label=app, color=colour)
    left.set_yscale("log")
    left.set_ylabel("requests/s (median)")
    left.set_title(f"Throughput at c={levels[0]}")
    left.legend()
    width = 0.8 / len(levels)
    for index, connections in enumerate(levels):
        at = {row.scenario: row for row in table if row.connections == connections}
        ratios = [at[s].throughput_ratio if s in at else 0 for s in scenarios]
        shift = (index - (len(levels) - 1) / 2) * width
        right.bar([p + shift for p in positions], ratios, width=width, label=f"c={connections}")
    right.axhline(MIN_THROUGHPUT_RATIO, color="red", linestyle="--", label="target 0.5")
    right.set_ylabel("app / floor throughput")
    right.set_title("Throughput ratio to the floor")
    right.legend()
    for axis in (left, right):
        axis.set_xticks(list(positions), scenarios, rotation=30, ha="right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _without_redis(workers: int) -> str:
    # Without Redis, only a single process caches token lookups (its revocations are its own).
    return "none, the auth cache local" if workers == 1 else "none, so no auth cache"
