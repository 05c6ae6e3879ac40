import uuid
from datetime import timedelta

from app.audit.filters import AuditFilter, OrgAuditFilter, SecurityEventFilter
from app.audit.repository import AuditRepository
from app.core.pagination import PageRequest, PageResult
from app.core.request import Clock
from app.identity.models import AuditEvent


class AuditService:
    """The audit log as its readers see it: operators the whole of it, each person the events
    that concern them; and its retention."""

    def __init__(self, repository: AuditRepository, *, retention: timedelta, clock: Clock):
        self.repository = repository
        self.retention = retention
        self.clock = clock

    async def list_page(self, filters: AuditFilter, page: PageRequest) -> PageResult[AuditEvent]:
        return await self.repository.list_filtered(filters, page)

    async def list_in_org(
        self, org_id: uuid.UUID, filters: OrgAuditFilter, page: PageRequest
    ) -> PageResult[AuditEvent]:
        return await self.repository.list_in_org(org_id, filters, page)

    async def security_events(
        self, user_id: uuid.UUID, filters: SecurityEventFilter, page: PageRequest
    ) -> PageResult[AuditEvent]:
        return await self.repository.list_for_subject(user_id, filters, page)

    async def purge_expired(self) -> int:
        """Events older than `AUDIT_RETENTION`; how many went."""
        return await self.repository.purge(self.clock() - self.retention)
