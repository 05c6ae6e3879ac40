"""Mail is delivered by jobs: each pending outbox row gets its `mail.deliver` job, and the
outbox's own schedule (`next_attempt_at`) goes.

Revision ID: d9322538aa54
Revises: e232e0f3f054
Create Date: 2026-12-04 17:30:00.000000+00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "d9322538aa54"
down_revision: str | Sequence[str] | None = "e232e0f3f054"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# OUTBOX_MAX_ATTEMPTS's default: a migration does not read the settings.
MAX_ATTEMPTS = 12

outbox = sa.table(
    "mail_outbox",
    sa.column("id", sa.Uuid()),
    sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.column("attempts", sa.Integer()),
    sa.column("failed_at", sa.DateTime(timezone=True)),
)
jobs = sa.table(
    "jobs",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("queue", sa.String()),
    sa.column("payload", sa.JSON()),
    sa.column("state", sa.String()),
    sa.column("priority", sa.SmallInteger()),
    sa.column("run_at", sa.DateTime(timezone=True)),
    sa.column("attempts", sa.Integer()),
    sa.column("max_attempts", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    pending = op.get_bind().execute(
        sa.select(outbox.c.id, outbox.c.next_attempt_at, outbox.c.attempts).where(
            outbox.c.failed_at.is_(None)
        )
    )
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "name": "mail.deliver",
            "queue": "mail",
            "payload": {"message_id": str(message_id)},
            "state": "ready",
            "priority": 0,
            "run_at": due,
            # The tries made so far count; each row keeps one at least.
            "attempts": min(attempts, MAX_ATTEMPTS - 1),
            "max_attempts": MAX_ATTEMPTS,
            "created_at": now,
        }
        for message_id, due, attempts in pending
    ]
    if rows:
        op.bulk_insert(jobs, rows)
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_mail_outbox_due",
            postgresql_where=sa.text("failed_at IS NULL"),
            sqlite_where=sa.text("failed_at IS NULL"),
        )
        batch_op.drop_column("next_attempt_at")


def downgrade() -> None:
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_attempt_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
        batch_op.create_index(
            "ix_mail_outbox_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("failed_at IS NULL"),
            sqlite_where=sa.text("failed_at IS NULL"),
        )
    # The outbox schedules its rows again: their jobs would deliver them a second time.
    op.execute(sa.delete(jobs).where(jobs.c.name == "mail.deliver"))
