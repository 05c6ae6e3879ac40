from app.core.audit import declare_action

API_KEY_CREATED = declare_action(
    "api_key.created", "A personal API key made (`details`: its name and scopes)"
)
API_KEY_REVOKED = declare_action("api_key.revoked", "A personal API key revoked")
