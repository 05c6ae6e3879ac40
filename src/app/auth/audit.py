from app.core.audit import declare_action

LOGIN = declare_action("auth.login", "Signed in with a password: a new session")
LOGIN_FAILED = declare_action(
    "auth.login_failed",
    "A sign-in with a password refused (`details.reason`: unknown_email, wrong_password, "
    "inactive, unverified)",
)
