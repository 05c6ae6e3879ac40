from app.core.audit import declare_action

TOTP_ENABLED = declare_action(
    "factor.totp_enabled", "An authenticator app confirmed: sign-ins need its codes"
)
TOTP_RESET = declare_action(
    "factor.totp_reset", "Second factors removed by support (`app users reset-2fa`)"
)
RECOVERY_CODE_USED = declare_action("factor.recovery_code_used", "A recovery code spent to sign in")
MFA_FAILED = declare_action(
    "auth.mfa_failed", "A wrong second factor in a sign-in whose password was right"
)
TOTP_DISABLED = declare_action(
    "factor.totp_disabled", "The authenticator app turned off by its user"
)
