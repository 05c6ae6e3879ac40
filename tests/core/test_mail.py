"""The console sender prints a message readably to stdout and nothing into the log."""

import pytest
from structlog.testing import capture_logs

from app.core.config import Settings
from app.mail.sender import ConsoleSender, MailTemplates


async def test_the_console_sender_prints_the_link_whole(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(_env_file=None)
    token = "J6mSNw1xDOu_YQvGhR8xZipWNc_Br2Jnfn9mknx0m40"
    message = MailTemplates("app.accounts", settings).render(
        "email_verification", "a@example.com", token=token, ttl="2 days"
    )

    with capture_logs() as logged:
        await ConsoleSender(settings).send(message)

    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == [
        f"From: {settings.email_from}",
        "To: a@example.com",
        f"Subject: {message.subject}",
    ]
    assert f"{settings.public_url}/account/verify-email?token={token}" in printed
    assert logged == []


def test_templates_render_both_parts_with_the_public_url() -> None:
    settings = Settings(_env_file=None, public_url="https://app.example/")
    templates = MailTemplates("app.accounts", settings)

    message = templates.render("email_verification", "a@example.com", token="abc", ttl="2 days")

    assert message.subject == "Confirm your email address"
    assert "https://app.example/account/verify-email?token=abc" in message.text
    assert 'href="https://app.example/account/verify-email?token=abc"' in message.html
