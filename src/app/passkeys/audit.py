from app.core.audit import declare_action

PASSKEY_ADDED = declare_action("passkey.added", "A passkey registered: it signs in on its own")
PASSKEY_RENAMED = declare_action("passkey.renamed", "A passkey given another name")
PASSKEY_REMOVED = declare_action("passkey.removed", "A passkey removed by its user")
PASSKEY_FAILED = declare_action(
    "passkey.failed",
    "A passkey assertion refused (a stale signature counter suggests a cloned authenticator)",
)
