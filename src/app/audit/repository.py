import uuid
from datetime import datetime

from sqlalchemy import delete, select

from app.audit.filters import AuditFilter, OrgAuditFilter, SecurityEventFilter
from app.core.pagination import PageRequest, PageResult
from app.core.repository import Repository
from app.identity.models import AuditEvent, AuditPurge


class AuditRepository(Repository[AuditEvent]):
    """Reading the audit log, and its retention purge (the one DELETE its trigger allows)."""

    model = AuditEvent

    async def list_filtered(
        self, filters: AuditFilter, page: PageRequest
    ) -> PageResult[AuditEvent]:
        return await self.list_page(filters.filter(select(AuditEvent)), page)

    async def list_in_org(
        self, org_id: uuid.UUID, filters: OrgAuditFilter, page: PageRequest
    ) -> PageResult[AuditEvent]:
        statement = filters.filter(select(AuditEvent).where(AuditEvent.org_id == org_id))
        return await self.list_page(statement, page)

    async def list_for_subject(
        self, subject_id: uuid.UUID, filters: SecurityEventFilter, page: PageRequest
    ) -> PageResult[AuditEvent]:
        statement = filters.filter(select(AuditEvent).where(AuditEvent.subject_id == subject_id))
        return await self.list_page(statement, page)

    async def purge(self, before: datetime) -> int:
        """Events older than `before`, deleted inside the purge's own mark (`audit_purges`)."""
        mark = AuditPurge(id=1)
        self.session.add(mark)
        await self.session.flush()
        deleted = await self.session.execute(delete(AuditEvent).where(AuditEvent.at < before))
        await self.session.delete(mark)
        await self.session.flush()
        return int(deleted.rowcount)  # type: ignore[attr-defined]
