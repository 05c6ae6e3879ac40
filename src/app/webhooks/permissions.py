from app.core.permissions import declare

WEBHOOKS_MANAGE = declare(
    "webhooks:manage", "Register webhook endpoints for your events, and manage them"
)
ORG_WEBHOOKS_MANAGE = declare(
    "org_webhooks:manage",
    "Register webhook endpoints for the organisation's events, and manage them",
    org=True,
)
