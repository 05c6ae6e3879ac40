from app.core.permissions import declare

MEMBERS_INVITE = declare(
    "members:invite", "Invite people to the organisation, and withdraw invitations", org=True
)
