from app.core.audit import declare_action

LOGOUT = declare_action("auth.logout", "Signed out: the session of the request ended")
LOGOUT_ALL = declare_action(
    "auth.logout_all", "Signed out everywhere: every session and pending mailed link ended"
)
SESSION_REVOKED = declare_action("session.revoked", "One of the user's sessions ended by them")
