from app.core.permissions import declare

AUDIT_READ = declare("audit:read", "Read the whole audit log: who did what, when, from where")
