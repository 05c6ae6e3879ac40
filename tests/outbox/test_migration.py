"""The migration that moves mail onto jobs: each pending outbox row gets its `mail.deliver` job
(the tries made so far counted), a row given up on gets none, and the downgrade gives the
outbox its own schedule back."""

import json

from tests.core.test_migrations import run_cli
from tests.roles.test_migration import query

BEFORE_MAIL_JOBS = "e232e0f3f054"
INSERT_MAIL = (
    "INSERT INTO mail_outbox (id, recipient, subject, text_body, html_body, created_at, "
    "next_attempt_at, attempts, failed_at) VALUES (:id, :recipient, 's', 't', '<p>h</p>', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :attempts, "
    "CASE WHEN :failed THEN CURRENT_TIMESTAMP END)"
)
PENDING, GIVEN_UP = f"{1:032x}", f"{2:032x}"


def test_pending_mail_gets_its_delivery_job_and_back(fresh_database_url: str) -> None:
    assert run_cli(fresh_database_url, "db", "upgrade", BEFORE_MAIL_JOBS)[0] == 0
    for row_id, attempts, failed in ((PENDING, 3, False), (GIVEN_UP, 12, True)):
        query(
            fresh_database_url,
            INSERT_MAIL,
            id=row_id,
            recipient=f"{attempts}@example.com",
            attempts=attempts,
            failed=failed,
        )

    assert run_cli(fresh_database_url, "db", "upgrade")[0] == 0

    jobs = query(
        fresh_database_url, "SELECT name, queue, state, payload, attempts, max_attempts FROM jobs"
    )
    assert [(*job[:3], *job[4:]) for job in jobs] == [("mail.deliver", "mail", "ready", 3, 12)]
    payload = jobs[0][3]
    message_id = (json.loads(payload) if isinstance(payload, str) else payload)["message_id"]
    assert message_id.replace("-", "") == PENDING
    assert run_cli(fresh_database_url, "db", "downgrade", BEFORE_MAIL_JOBS)[0] == 0
    assert query(fresh_database_url, "SELECT count(*) FROM jobs") == [(0,)]
    due = query(
        fresh_database_url, "SELECT count(*) FROM mail_outbox WHERE next_attempt_at IS NOT NULL"
    )
    assert due == [(2,)]
