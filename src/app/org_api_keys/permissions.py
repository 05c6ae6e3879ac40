from app.core.permissions import declare

KEYS_MANAGE = declare(
    "keys:manage", "Create, list and revoke the organisation's API keys", org=True
)
