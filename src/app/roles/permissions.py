from app.core.permissions import declare

ROLES_ADMIN = declare("roles:admin", "Manage roles and who holds them")
