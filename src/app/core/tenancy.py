"""Organisations as tenants: the path parameter that names a request's organisation, and the
second wall on PostgreSQL, row-level security, that the unit of work arms for it.

Every organisation-owned table has a policy admitting only rows whose `org_id` is the
transaction's `app.org_id` (`isolate_tenant` in a migration). The dependency that admits a
member sets it with `SET LOCAL` semantics (`set_config(…, true)`), so it ends with the
transaction, also through a transaction pooler, and a query that forgets the organisation
filter still reaches no other tenant's row. Roles that bypass row-level security (superusers,
`BYPASSRLS`) need no setting: for them the repository filter is the only wall, as on SQLite.
"""

import uuid

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.state import CoreState

# The path parameter of every route inside an organisation: `/orgs/{org_id}/…`.
TENANT_PARAMETER = "org_id"
TENANT_SETTING = "app.org_id"
_SET_TENANT = text(f"SELECT set_config('{TENANT_SETTING}', :org_id, true)")
_SUBJECT_TO_POLICIES = text(
    "SELECT NOT (rolsuper OR rolbypassrls) FROM pg_roles WHERE rolname = current_user"
)


def names_tenant(request: Request) -> bool:
    """Whether the request acts inside one organisation (its path names it)."""
    return TENANT_PARAMETER in request.path_params


async def bind_tenant(state: CoreState, session: AsyncSession, org_id: uuid.UUID) -> None:
    """The rest of this unit of work sees only `org_id`'s rows in organisation-owned tables,
    when row-level security binds the app's role: asked of the database once per process."""
    if state.row_security is None:
        bound = session.get_bind().dialect.name == "postgresql"
        if bound:
            bound = bool((await session.execute(_SUBJECT_TO_POLICIES)).scalar())
        state.row_security = bound
    if state.row_security:
        await session.execute(_SET_TENANT, {"org_id": str(org_id)})
