"""Every permission of the app, listed: what roles may grant, API keys may be scoped to, and
OpenAPI shows as OAuth2 scopes. Each feature declares its own in its `permissions.py`; this
list names them all (`app new entity` adds a feature's), so that code outside the API (the
CLI) knows every one, and a test fails when one is missing."""

from app.api_keys.permissions import API_KEYS_ADMIN
from app.audit.permissions import AUDIT_READ, ORG_AUDIT_READ
from app.identity.permissions import ACCOUNT_MANAGE
from app.invitations.permissions import MEMBERS_INVITE
from app.items.permissions import ITEMS_READ, ITEMS_WRITE
from app.jobs.permissions import JOBS_ADMIN
from app.org_api_keys.permissions import KEYS_MANAGE
from app.orgs.permissions import (
    MEMBERS_MANAGE,
    MEMBERS_READ,
    ORGS_CREATE,
    ORGS_DELETE,
    ORGS_READ,
    ORGS_UPDATE,
)
from app.projects.permissions import PROJECTS_READ, PROJECTS_WRITE
from app.roles.permissions import ROLES_ADMIN
from app.users.permissions import ACCOUNT_READ, ACCOUNT_WRITE, USERS_ADMIN
from app.webhooks.permissions import ORG_WEBHOOKS_MANAGE, WEBHOOKS_MANAGE

PERMISSIONS: tuple[str, ...] = (
    ACCOUNT_MANAGE,
    ACCOUNT_READ,
    ACCOUNT_WRITE,
    USERS_ADMIN,
    ROLES_ADMIN,
    API_KEYS_ADMIN,
    JOBS_ADMIN,
    AUDIT_READ,
    WEBHOOKS_MANAGE,
    ITEMS_READ,
    ITEMS_WRITE,
    ORGS_CREATE,
    ORGS_READ,
    ORGS_UPDATE,
    ORGS_DELETE,
    MEMBERS_READ,
    MEMBERS_MANAGE,
    MEMBERS_INVITE,
    KEYS_MANAGE,
    ORG_WEBHOOKS_MANAGE,
    ORG_AUDIT_READ,
    PROJECTS_READ,
    PROJECTS_WRITE,
)
