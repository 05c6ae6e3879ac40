from app.core.audit import declare_action

ORG_API_KEY_CREATED = declare_action(
    "org_api_key.created", "An organisation's API key made (`details`: its name and scopes)"
)
ORG_API_KEY_REVOKED = declare_action("org_api_key.revoked", "An organisation's API key revoked")
