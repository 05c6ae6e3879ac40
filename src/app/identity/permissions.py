from app.core.permissions import declare

# Never through an API key: a key cannot list or end sessions, nor change the password or
# create keys. Every identity feature's routes for one's own credentials need it.
ACCOUNT_MANAGE = declare("account:manage", "Manage your sessions and password", personal=True)
