from app.core.audit import declare_action

INVITATION_CREATED = declare_action(
    "invitation.created", "Someone invited to an organisation (`details`: address and roles)"
)
INVITATION_WITHDRAWN = declare_action("invitation.withdrawn", "An invitation withdrawn")
INVITATION_ACCEPTED = declare_action(
    "invitation.accepted", "An invitation accepted: its holder joined the organisation"
)
