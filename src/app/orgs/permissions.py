from app.core.permissions import declare

ORGS_CREATE = declare("orgs:create", "Create organisations (and become their owner)")

# Held within one organisation, through the roles a member holds there.
ORGS_READ = declare("orgs:read", "See the organisation", org=True)
ORGS_UPDATE = declare("orgs:update", "Rename the organisation or change its slug", org=True)
ORGS_DELETE = declare("orgs:delete", "Delete the organisation and everything it owns", org=True)
MEMBERS_READ = declare("members:read", "List the organisation's members", org=True)
MEMBERS_MANAGE = declare("members:manage", "Change members' roles and remove members", org=True)
