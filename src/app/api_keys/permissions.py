from app.core.permissions import declare

API_KEYS_ADMIN = declare("api_keys:admin", "List and revoke any user's API keys")
