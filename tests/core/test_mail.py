"""The console sender prints a whole message to stdout and nothing into the log."""

import pytest
from structlog.testing import capture_logs

from app.core.config import Settings
from app.core.mail import ConsoleSender, MailTemplates, Message


async def test_the_console_sender_prints_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    sender = ConsoleSender(Settings(_env_file=None))

    with capture_logs() as logged:
        await sender.send(
            Message(to="a@example.com", subject="Hi", text="Plain", html="<b>Rich</b>")
        )

    printed = capsys.readouterr().out
    assert "To: a@example.com" in printed
    assert "Subject: Hi" in printed
    assert "Plain" in printed
    assert "<b>Rich</b>" in printed
    assert logged == []


def test_templates_render_both_parts_with_the_public_url() -> None:
    settings = Settings(_env_file=None, public_url="https://app.example/")
    templates = MailTemplates("app.accounts", settings)

    message = templates.render("email_verification", "a@example.com", token="abc", ttl="2 days")

    assert message.subject == "Confirm your email address"
    assert "https://app.example/verify-email?token=abc" in message.text
    assert 'href="https://app.example/verify-email?token=abc"' in message.html
