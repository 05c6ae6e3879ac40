from app.core.permissions import declare

ITEMS_READ = declare("items:read", "Read your items")
ITEMS_WRITE = declare("items:write", "Create, change, delete and restore your items")
