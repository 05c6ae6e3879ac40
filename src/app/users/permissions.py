from app.core.permissions import declare

ACCOUNT_READ = declare("account:read", "Read your own profile")
ACCOUNT_WRITE = declare("account:write", "Change your own profile")
# Never through an API key: a key cannot list or end sessions, nor change the password.
ACCOUNT_MANAGE = declare("account:manage", "Manage your sessions and password", personal=True)
USERS_ADMIN = declare("users:admin", "List, read, change and delete any user")
