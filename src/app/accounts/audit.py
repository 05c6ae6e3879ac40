from app.core.audit import declare_action

PASSWORD_RESET = declare_action(
    "account.password_reset",
    "A password chosen through a mailed reset link: every session and key of the account ended",
)
EMAIL_VERIFIED = declare_action("account.email_verified", "An email address verified")
EMAIL_CHANGE_REQUESTED = declare_action(
    "account.email_change_requested", "A change of address asked for (`details.new_email`)"
)
EMAIL_CHANGED = declare_action(
    "account.email_changed", "A change of address confirmed (`details`: old and new)"
)
EMAIL_CHANGE_CANCELLED = declare_action(
    "account.email_change_cancelled", "A pending change of address called off"
)
VERIFICATION_RESENT = declare_action(
    "account.verification_resent", "A new verification link mailed, asked by the user or an admin"
)
