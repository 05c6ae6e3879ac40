import uuid
from typing import Any

from app.core.errors import NotFoundError
from app.identity.models import User
from app.identity.repository import UserRecords


class UserDirectory:
    """Finds a live user for the features that act on one (roles, API keys, the CLI); 404
    otherwise."""

    def __init__(self, repository: UserRecords[Any, Any]):
        self.repository = repository

    async def get(self, user_id: uuid.UUID) -> User:
        user = await self.repository.get(user_id)
        if user is None:
            raise NotFoundError("User not found")
        return user

    async def get_by_email(self, email: str) -> User:
        user = await self.repository.get_by_email(email)
        if user is None:
            raise NotFoundError(f"No user with the email {email}")
        return user
