"""`app serve` runs the event loop `SERVER_LOOP` names: asyncio unless told otherwise. Under
overload uvloop leaves some connections waiting seconds while others are served (bench: at
c=256 on one worker, wrk timeouts past 2 s with uvloop, none with asyncio)."""

from pathlib import Path

import pytest

from tests.live import LiveServerFactory


@pytest.mark.parametrize(
    ("environment", "uvloop"), [({}, False), ({"SERVER_LOOP": "uvloop"}, True)]
)
def test_serve_runs_the_configured_event_loop(
    live_server: LiveServerFactory, migrated: str, environment: dict[str, str], uvloop: bool
) -> None:
    server = live_server(migrated, **environment)

    # uvloop is imported only to run it: its extension module is mapped into the process then.
    mapped = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert ("uvloop" in mapped) is uvloop
