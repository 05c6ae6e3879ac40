from pydantic import BaseModel

from app.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


# Forms as browsers send them: every field a string, missing ones empty, so that a page can
# answer with the form and what is wrong with it (its CSRF field is checked apart).
class TokenForm(BaseModel):
    token: str = ""


class InvitationForm(TokenForm):
    password: str = ""


class PasswordForm(TokenForm):
    new_password: str = ""
    new_password_again: str = ""

    def problem(self) -> str | None:
        """What the form itself shows is wrong (the account's rules are checked after)."""
        if self.new_password != self.new_password_again:
            return "The two passwords differ; type the same one twice"
        if not PASSWORD_MIN_LENGTH <= len(self.new_password) <= PASSWORD_MAX_LENGTH:
            return (
                f"A password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters; "
                f"this one has {len(self.new_password)}"
            )
        return None
