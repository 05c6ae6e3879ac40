"""The audit log's retention: a scheduled job deletes events older than AUDIT_RETENTION."""

import structlog
from pydantic import BaseModel

from app.audit.dependencies import build_audit_service
from app.jobs.definitions import JobContext, JobType, Schedule

logger = structlog.get_logger(__name__)


class PurgePayload(BaseModel):
    pass


async def purge_audit_events(_payload: PurgePayload, context: JobContext) -> None:
    async with context.sessionmaker.begin() as session:
        service = build_audit_service(session, context.settings, context.clock)
        purged = await service.purge_expired()
    if purged:
        logger.info("audit_events_purged", count=purged)


PURGE_AUDIT = JobType(
    name="audit.purge", payload=PurgePayload, run=purge_audit_events, max_attempts=3
)
PURGE_AUDIT_SCHEDULE = Schedule(name="audit.purge", cron="43 * * * *", job=PURGE_AUDIT)
