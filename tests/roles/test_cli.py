"""`app roles list|grant|revoke` through the real CLI against a freshly migrated database."""

from tests.users.test_cli import PASSWORD, create_superuser, run_cli, stored_users


def test_list_shows_the_built_in_roles(migrated: str) -> None:
    outcome = run_cli(migrated, "roles", "list")

    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert lines[0] == "admin (built in): *"
    assert lines[1].startswith("user (built in): account:manage account:read")


def test_grant_and_revoke_admin(migrated: str) -> None:
    create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)
    create_superuser(migrated, "--email", "second@example.com", "--password", PASSWORD)

    revoked = run_cli(migrated, "roles", "revoke", "admin", "--user", "Second@Example.com")

    assert revoked.exit_code == 0, revoked.output
    assert revoked.output.strip() == "Second@Example.com no longer holds admin"
    flags = {user.email: user.is_superuser for user in stored_users(migrated)}
    assert flags == {"root@example.com": True, "second@example.com": False}
    granted = run_cli(migrated, "roles", "grant", "admin", "--user", "second@example.com")
    assert granted.exit_code == 0, granted.output
    assert all(user.is_superuser for user in stored_users(migrated))


def test_the_last_admin_keeps_the_role(migrated: str) -> None:
    create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)

    outcome = run_cli(migrated, "roles", "revoke", "admin", "--user", "root@example.com")

    assert outcome.exit_code == 1
    assert "The last active admin keeps the role" in outcome.output
    assert [user.is_superuser for user in stored_users(migrated)] == [True]


def test_unknown_user_or_role_exits_1(migrated: str) -> None:
    create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)

    unknown_role = run_cli(migrated, "roles", "grant", "editor", "--user", "root@example.com")
    unknown_user = run_cli(migrated, "roles", "grant", "admin", "--user", "nobody@example.com")

    assert (unknown_role.exit_code, unknown_user.exit_code) == (1, 1)
    assert "No role named editor" in unknown_role.output
    assert "No user with the email nobody@example.com" in unknown_user.output
