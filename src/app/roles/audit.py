from app.core.audit import declare_action

ROLE_CREATED = declare_action("role.created", "A role made (`details`: its permissions)")
ROLE_UPDATED = declare_action("role.updated", "A role changed (`details`: what changed)")
ROLE_DELETED = declare_action("role.deleted", "A role deleted: its holders lost it")
ROLE_GRANTED = declare_action("role.granted", "A role granted to a user")
ROLE_REVOKED = declare_action("role.revoked", "A role taken back from a user")
