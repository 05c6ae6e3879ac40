"""Prometheus metrics: requests by route template and status, latency, connection pool."""

import os
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.pool import Pool, QueuePool

# Set (by `serve --workers N`) before any metric exists: prometheus_client then keeps values in
# files there, and a scrape answered by any worker sums every worker's.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PoolCollector(Collector):
    """Reads the pool's state at scrape time, so nothing is updated on the request path."""

    def __init__(self, get_pool: Callable[[], Pool | None]):
        self.get_pool = get_pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.get_pool()
        if not isinstance(pool, QueuePool):
            return
        for name, documentation, value in (
            ("db_pool_size", "Configured pool size", pool.size()),
            ("db_pool_checked_out", "Connections in use", pool.checkedout()),
            ("db_pool_checked_in", "Idle connections in the pool", pool.checkedin()),
            ("db_pool_overflow", "Connections beyond pool_size", max(pool.overflow(), 0)),
        ):
            yield GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """One registry per application instance, so several apps can live in one process."""

    def __init__(self, get_pool: Callable[[], Pool | None]):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.auth_cache_publish_failures = Counter(
            "auth_cache_publish_failures_total",
            "Revocations Redis did not take: other processes may reuse a lookup until its TTL",
            registry=self.registry,
        )
        self.requests_shed = Counter(
            "http_requests_shed_total",
            "Requests answered 503: all MAX_CONCURRENT_REQUESTS slots stayed busy for "
            "REQUEST_QUEUE_TIMEOUT",
            registry=self.registry,
        )
        self.mail_sent = Counter(
            "mail_sent_total", "Mails the SMTP server accepted", registry=self.registry
        )
        self.mail_failures = Counter(
            "mail_send_failures_total",
            "Tries to deliver a mail that failed (it is retried later)",
            registry=self.registry,
        )
        self.mail_given_up = Counter(
            "mail_given_up_total",
            "Mails given up after OUTBOX_MAX_ATTEMPTS failed tries",
            registry=self.registry,
        )
        self.mail_dropped = Counter(
            "mail_dropped_total",
            "Mails not queued: their address had RATE_LIMIT_MAIL_RECIPIENT already",
            registry=self.registry,
        )
        # Collectors that read live state at scrape time (the pool, features' own).
        self.live: list[Collector] = []
        self.add_live(PoolCollector(get_pool))

    def add_live(self, collector: Collector) -> None:
        self.live.append(collector)
        self.registry.register(collector)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        if not os.environ.get(MULTIPROCESS_DIR):
            return generate_latest(self.registry)
        # The live gauges describe the process answering the scrape.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        for collector in self.live:
            registry.register(collector)
        return generate_latest(registry)
