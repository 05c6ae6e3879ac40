from app.core.permissions import declare

ACCOUNT_READ = declare("account:read", "Read your own profile")
ACCOUNT_WRITE = declare("account:write", "Change your own profile")
USERS_ADMIN = declare("users:admin", "List, read, change and delete any user")
