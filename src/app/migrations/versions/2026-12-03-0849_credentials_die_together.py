"""credentials die together, and mail is composed when due

Users get a security stamp that every change of credentials replaces; mailed tokens carry the
stamp they were issued under (one per user and purpose); outbox rows may name the composer that
writes them when due; listed API key prefixes keep 4 characters of the secret, not 6.

Revision ID: 79f3623e35af
Revises: a99f71f4b601
Create Date: 2026-12-03 08:49:56.111665+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "79f3623e35af"
down_revision: str | Sequence[str] | None = "a99f71f4b601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `app_live_` and 4 characters of the secret.
SHOWN_PREFIX = 13


def upgrade() -> None:
    random_stamp = (
        "md5(random()::text || id::text)"
        if op.get_bind().dialect.name == "postgresql"
        else "lower(hex(randomblob(16)))"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("security_stamp", sa.String(length=32), nullable=True))
    op.execute(f"UPDATE users SET security_stamp = {random_stamp}")  # noqa: S608 - a constant
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("security_stamp", nullable=False)

    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("security_stamp", sa.String(length=32), nullable=True))
    # Outstanding tokens stay valid under the stamp their user now has; of several of one
    # purpose (issued at once before the constraint) the newest stays.
    op.execute(
        "UPDATE account_tokens SET security_stamp = "
        "(SELECT security_stamp FROM users WHERE users.id = account_tokens.user_id)"
    )
    op.execute(
        "DELETE FROM account_tokens WHERE EXISTS (SELECT 1 FROM account_tokens AS newer "
        "WHERE newer.user_id = account_tokens.user_id AND newer.purpose = account_tokens.purpose "
        "AND (newer.created_at, newer.id) > (account_tokens.created_at, account_tokens.id))"
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.alter_column("security_stamp", nullable=False)
        batch_op.drop_index(batch_op.f("ix_account_tokens_user_id_purpose"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_account_tokens_user_id_purpose"), ["user_id", "purpose"]
        )

    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("composer", sa.String(length=50), nullable=True))

    op.execute(f"UPDATE api_keys SET prefix = substr(prefix, 1, {SHOWN_PREFIX})")  # noqa: S608


def downgrade() -> None:
    # Requests for mail not yet composed cannot be kept without their composer.
    op.execute("DELETE FROM mail_outbox WHERE composer IS NOT NULL")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_column("composer")

    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_account_tokens_user_id_purpose"), type_="unique")
        batch_op.create_index(
            batch_op.f("ix_account_tokens_user_id_purpose"), ["user_id", "purpose"], unique=False
        )
        batch_op.drop_column("security_stamp")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("security_stamp")
