"""add roles: `admin` (every permission) and `user`; superusers become admins

Revision ID: 20417f086331
Revises: f5d6cf1412eb
Create Date: 2026-12-01 18:00:23.028244+00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.core.migrations import grant

revision: str = "20417f086331"
down_revision: str | Sequence[str] | None = "f5d6cf1412eb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("built_in", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_roles_name")),
    )
    op.create_table(
        "role_permissions",
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("permission", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_role_permissions_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "permission", name=op.f("pk_role_permissions")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_user_roles_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_roles")),
    )
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_roles_role_id"), ["role_id"], unique=False)

    admin, user = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    built_in = {"built_in": True, "created_at": now, "updated_at": now}
    op.bulk_insert(
        ROLES,
        [
            {**built_in, "id": admin, "name": "admin", "description": "Every permission."},
            {**built_in, "id": user, "name": "user", "description": "Every registered user."},
        ],
    )
    op.bulk_insert(GRANTS, [{"role_id": admin, "permission": "*"}])
    grant("user", "account:read", "account:write", "account:manage", "items:read", "items:write")
    _give(user, now, sa.true())
    _give(admin, now, USERS.c.is_superuser)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_superuser")


ROLES = sa.table(
    "roles",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("description", sa.String()),
    sa.column("built_in", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
GRANTS = sa.table(
    "role_permissions", sa.column("role_id", sa.Uuid()), sa.column("permission", sa.String())
)
USERS = sa.table("users", sa.column("id", sa.Uuid()), sa.column("is_superuser", sa.Boolean()))
USER_ROLES = sa.table(
    "user_roles",
    sa.column("user_id", sa.Uuid()),
    sa.column("role_id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _give(role_id: uuid.UUID, now: datetime, which: sa.ColumnElement[bool]) -> None:
    holders = sa.select(
        USERS.c.id, sa.literal(role_id, sa.Uuid()), sa.literal(now, sa.DateTime(timezone=True))
    ).where(which)
    op.execute(USER_ROLES.insert().from_select(["user_id", "role_id", "created_at"], holders))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_superuser", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    admins = (
        sa.select(USER_ROLES.c.user_id)
        .join(ROLES, ROLES.c.id == USER_ROLES.c.role_id)
        .where(ROLES.c.name == "admin")
    )
    op.execute(USERS.update().where(USERS.c.id.in_(admins)).values(is_superuser=True))

    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_roles_role_id"))

    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    op.drop_table("roles")
