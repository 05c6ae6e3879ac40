"""`app audit …`: the audit log from the command line, as JSON lines (one event each)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import typer

from app.audit.dependencies import build_audit_service
from app.audit.filters import AuditFilter
from app.audit.schemas import AuditEventRead
from app.audit.service import AuditService
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.pagination import PageRequest, SortKey

audit_cli = typer.Typer(help="The audit log, as JSON lines.", no_args_is_help=True)
BATCH = 1000
OLDEST_FIRST = (SortKey("at"),)


@audit_cli.command("tail")
def tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, max=10_000)] = 20,
    action: Annotated[str | None, typer.Option(help="Only events of this action.")] = None,
) -> None:
    """The latest events, oldest of them first."""

    async def work(audit: AuditService) -> None:
        page = PageRequest(sort=(SortKey("at", descending=True),), limit=lines)
        latest = await audit.list_page(AuditFilter(action=action), page)
        for event in reversed(latest.items):
            typer.echo(AuditEventRead.model_validate(event).model_dump_json())

    _run(work)


@audit_cli.command("export")
def export(
    since: Annotated[datetime | None, typer.Option(help="From this time (UTC) on.")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (UTC).")] = None,
    action: Annotated[str | None, typer.Option(help="Only events of this action.")] = None,
) -> None:
    """Every event in the range, oldest first, read in keyset pages (constant cost each)."""

    async def work(audit: AuditService) -> None:
        filters = AuditFilter(action=action, at__gte=_utc(since), at__lt=_utc(until))
        page = PageRequest(sort=OLDEST_FIRST, limit=BATCH)
        while True:
            found = await audit.list_page(filters, page)
            for event in found.items:
                typer.echo(AuditEventRead.model_validate(event).model_dump_json())
            if found.next_keys is None:
                return
            page = PageRequest(sort=OLDEST_FIRST, limit=BATCH, after=found.next_keys)

    _run(work)


def _utc(moment: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC, as the options say."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _run(work: Callable[[AuditService], Awaitable[None]]) -> None:
    async def main(settings: Settings) -> None:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine).begin() as session:
                await work(build_audit_service(session, settings))
        finally:
            await engine.dispose()

    asyncio.run(main(Settings()))
