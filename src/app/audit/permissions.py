from app.core.permissions import declare

AUDIT_READ = declare("audit:read", "Read the whole audit log: who did what, when, from where")
ORG_AUDIT_READ = declare(
    "org_audit:read", "Read the organisation's audit log (its owners hold it)", org=True
)
