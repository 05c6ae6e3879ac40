from app.core.audit import declare_action

USER_UPDATED = declare_action(
    "user.updated", "A user's record changed by an administrator (`details.changed`: the fields)"
)
USER_DEACTIVATED = declare_action(
    "user.deactivated", "A user deactivated: their sessions and keys stopped working"
)
USER_DELETED = declare_action("user.deleted", "A user deleted by an administrator")
