from app.core.audit import declare_action

LOGIN = declare_action("auth.login", "Signed in with a password: a new session")
LOGIN_FAILED = declare_action(
    "auth.login_failed",
    "A sign-in with a password refused (`details.reason`: unknown_email, wrong_password, "
    "inactive, unverified, not_console_user)",
)
REGISTERED = declare_action("auth.registered", "An account made by registering")
PASSWORD_CHANGED = declare_action(
    "account.password_changed", "A password changed by its holder: their other sessions ended"
)
REAUTHENTICATED = declare_action(
    "auth.reauthenticated", "Proved who they are again: the session may do sensitive acts"
)
