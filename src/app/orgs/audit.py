from app.core.audit import declare_action

ORG_CREATED = declare_action("org.created", "An organisation made: its maker is its owner")
ORG_UPDATED = declare_action("org.updated", "An organisation's name or slug changed")
ORG_DELETED = declare_action("org.deleted", "An organisation deleted, with all it owned")
MEMBER_ROLES_CHANGED = declare_action(
    "org.member_roles_changed", "A member's roles changed (`details.roles`: those they now hold)"
)
MEMBER_REMOVED = declare_action("org.member_removed", "A member removed, or left (`details.left`)")
ORG_ROLE_CREATED = declare_action("org.role_created", "An organisation's own role made")
ORG_ROLE_UPDATED = declare_action("org.role_updated", "An organisation's own role changed")
ORG_ROLE_DELETED = declare_action("org.role_deleted", "An organisation's own role deleted")
