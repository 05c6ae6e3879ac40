"""The jobs' Prometheus metrics: runs, failures and durations counted by the workers, and the
queues' state as a worker last read it."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app.core.metrics import Metrics

DURATION_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0)


@dataclass
class QueueSnapshot:
    """Read by a worker's maintenance pass; empty in a process that runs no worker."""

    taken_at: datetime | None = None
    ready: dict[str, int] = field(default_factory=dict)
    oldest_age: dict[str, float] = field(default_factory=dict)
    dead: int = 0


class QueueCollector(Collector):
    def __init__(self, snapshot: QueueSnapshot):
        self.snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.snapshot.taken_at is None:
            return
        ready = GaugeMetricFamily("jobs_ready", "Jobs due and not yet running", labels=["queue"])
        oldest = GaugeMetricFamily(
            "jobs_oldest_ready_age_seconds",
            "How long the oldest job due has waited for a worker",
            labels=["queue"],
        )
        for queue, count in self.snapshot.ready.items():
            ready.add_metric([queue], count)
            oldest.add_metric([queue], self.snapshot.oldest_age.get(queue, 0.0))
        yield ready
        yield oldest
        yield GaugeMetricFamily(
            "jobs_dead", "Jobs out of attempts (or with no code), kept", value=self.snapshot.dead
        )


class JobMetrics:
    def __init__(self, metrics: Metrics):
        registry = metrics.registry
        self.runs = Counter(
            "jobs_runs_total",
            "Tries of jobs, by job name and outcome (done, retry, dead, lost)",
            ["name", "outcome"],
            registry=registry,
        )
        self.failures = Counter(
            "jobs_failures_total", "Tries that raised or timed out", ["name"], registry=registry
        )
        self.duration = Histogram(
            "jobs_duration_seconds",
            "How long a try ran, by job name",
            ["name"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.lost = Counter(
            "jobs_lost_total",
            "Running jobs a worker stopped: cancelled, or their lease went to another worker",
            registry=registry,
        )
        self.worker_errors = Counter(
            "jobs_worker_errors_total",
            "Passes of a job worker that failed (the database, or a bug); it goes on",
            registry=registry,
        )
        self.snapshot = QueueSnapshot()
        metrics.add_live(QueueCollector(self.snapshot))
