"""The account tests' fixtures: committed users, their mail delivered to the test SMTP server."""

from tests.accounts.conftest import client, mailing_app, register

__all__ = ["client", "mailing_app", "register"]
