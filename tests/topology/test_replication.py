"""The topology's database hosts: a standby made with `pg_basebackup` streams the primary's
writes, replays them no sooner than `recovery_min_apply_delay` asks, and takes writes once
promoted."""

import time
from datetime import timedelta

from tests.live import free_port
from topology.postgres import Cluster, running_standby

DELAY = timedelta(seconds=1)


def test_a_delayed_standby_replays_late_and_takes_writes_once_promoted(primary: Cluster) -> None:
    primary.sql("CREATE TABLE IF NOT EXISTS marks (value text)")
    with running_standby(primary, port=free_port(), apply_delay=DELAY) as standby:
        written = time.monotonic()
        primary.sql("INSERT INTO marks VALUES ('streamed')")
        seen = until_seen(standby, "streamed")

        assert seen - written >= DELAY.total_seconds()
        assert standby.sql("SELECT pg_is_in_recovery()") == "t"

        standby.promote()
        standby.sql("INSERT INTO marks VALUES ('promoted')")
        assert standby.sql("SELECT count(*) FROM marks WHERE value = 'promoted'") == "1"
        assert primary.sql("SELECT count(*) FROM marks WHERE value = 'promoted'") == "0"


def until_seen(standby: Cluster, value: str, limit: float = 30) -> float:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if standby.sql(f"SELECT count(*) FROM marks WHERE value = '{value}'") != "0":  # noqa: S608
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"{value!r} never reached the standby")
