from app.core.audit import declare_action

WEBHOOK_CREATED = declare_action(
    "webhook.created", "A webhook endpoint made (`details`: its URL and events)"
)
WEBHOOK_UPDATED = declare_action(
    "webhook.updated", "A webhook endpoint changed (`details.changed`: the fields)"
)
WEBHOOK_DELETED = declare_action("webhook.deleted", "A webhook endpoint deleted")
WEBHOOK_SECRET_ROTATED = declare_action(
    "webhook.secret_rotated", "A webhook endpoint's signing secret replaced"
)
