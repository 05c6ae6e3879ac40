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


def grant(role: str, *permissions: str) -> None:
    """In a migration: `role` gains `permissions` (how a feature gives the built-in `user`
    role access to what it adds)."""
    role_id = sa.select(_ROLES.c.id).where(_ROLES.c.name == role).scalar_subquery()
    for permission in permissions:
        rows = sa.select(role_id, sa.literal(permission, sa.String()))
        op.execute(_GRANTS.insert().from_select(["role_id", "permission"], rows))


def revoke(role: str, *permissions: str) -> None:
    """In a migration's downgrade: what `grant` gave, taken back."""
    role_id = sa.select(_ROLES.c.id).where(_ROLES.c.name == role).scalar_subquery()
    op.execute(
        _GRANTS.delete().where(_GRANTS.c.role_id == role_id, _GRANTS.c.permission.in_(permissions))
    )
