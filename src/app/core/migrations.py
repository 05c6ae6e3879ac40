"""Alembic, driven from code: `app db …`, `serve`'s automatic upgrade, and the tests."""

import sqlalchemy as sa
from alembic import op
from alembic.config import Config
from sqlalchemy.engine import Connection

from app.core.config import Settings

FILE_TEMPLATE = "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"


def alembic_config(settings: Settings, *, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "app:migrations")
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.set_main_option("truncate_slug_length", "40")
    # New revisions leave `app db revision` already formatted and lint-clean.
    hooks = {"ruff_format": "format --quiet", "ruff_fix": "check --fix --quiet"}
    config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
    for hook, options in hooks.items():
        config.set_section_option("post_write_hooks", f"{hook}.type", "module")
        config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
        config.set_section_option(
            "post_write_hooks", f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME"
        )
    config.attributes["settings"] = settings
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_ROLES = sa.table("roles", sa.column("id", sa.Uuid()), sa.column("name", sa.String()))
_GRANTS = sa.table(
    "role_permissions", sa.column("role_id", sa.Uuid()), sa.column("permission", sa.String())
)


_ORG_ROLES = sa.table(
    "org_roles",
    sa.column("id", sa.Uuid()),
    sa.column("org_id", sa.Uuid()),
    sa.column("name", sa.String()),
)
_ORG_GRANTS = sa.table(
    "org_role_permissions", sa.column("role_id", sa.Uuid()), sa.column("permission", sa.String())
)


def grant(role: str, *permissions: str) -> None:
    """In a migration: `role` gains `permissions` (how a feature gives the built-in `user`
    role access to what it adds)."""
    role_id = sa.select(_ROLES.c.id).where(_ROLES.c.name == role).scalar_subquery()
    _grant(_GRANTS, role_id, permissions)


def revoke(role: str, *permissions: str) -> None:
    """In a migration's downgrade: what `grant` gave, taken back."""
    role_id = sa.select(_ROLES.c.id).where(_ROLES.c.name == role).scalar_subquery()
    _revoke(_GRANTS, role_id, permissions)


def grant_in_orgs(role: str, *permissions: str) -> None:
    """In a migration: the built-in organisation role `role` (`admin`, `member`) gains
    organisation `permissions`, in every organisation."""
    _grant(_ORG_GRANTS, _built_in_org_role(role), permissions)


def revoke_in_orgs(role: str, *permissions: str) -> None:
    """In a migration's downgrade: what `grant_in_orgs` gave, taken back."""
    _revoke(_ORG_GRANTS, _built_in_org_role(role), permissions)


def _built_in_org_role(role: str) -> sa.ScalarSelect[object]:
    roles = _ORG_ROLES.c
    return sa.select(roles.id).where(roles.name == role, roles.org_id.is_(None)).scalar_subquery()


def _grant(
    grants: sa.TableClause, role_id: sa.ScalarSelect[object], permissions: tuple[str, ...]
) -> None:
    for permission in permissions:
        rows = sa.select(role_id, sa.literal(permission, sa.String()))
        op.execute(grants.insert().from_select(["role_id", "permission"], rows))


def _revoke(
    grants: sa.TableClause, role_id: sa.ScalarSelect[object], permissions: tuple[str, ...]
) -> None:
    op.execute(
        grants.delete().where(grants.c.role_id == role_id, grants.c.permission.in_(permissions))
    )


_CURRENT_TENANT = "NULLIF(current_setting('app.org_id', true), '')::uuid"


def isolate_tenant(table: str) -> None:
    """In a migration: an organisation-owned table admits, on PostgreSQL, only the rows of the
    transaction's organisation, to its owner too (`FORCE`). See `app.core.tenancy`."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (org_id = {_CURRENT_TENANT}) WITH CHECK (org_id = {_CURRENT_TENANT})"
    )


def share_tenant(table: str) -> None:
    """In a migration's downgrade: what `isolate_tenant` did, undone."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
