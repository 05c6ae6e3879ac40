from app.core.audit import declare_action

OAUTH_LOGIN = declare_action(
    "oauth.login", "Signed in through a provider: its login code exchanged for a new session"
)
OAUTH_LOGIN_FAILED = declare_action(
    "oauth.login_failed", "A provider's sign-in refused by us (the reason is in the details)"
)
OAUTH_REGISTERED = declare_action(
    "oauth.registered", "An account made from a provider's verified profile at its first sign-in"
)
IDENTITY_LINKED = declare_action(
    "oauth.identity_linked",
    "A provider account linked to a user: by its verified address, or by the user themselves",
)
IDENTITY_UNLINKED = declare_action(
    "oauth.identity_unlinked", "A provider account unlinked by its user"
)
