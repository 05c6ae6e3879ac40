"""What a caller presents: a session of theirs, or another kind of bearer token that a
feature issues (an API key), and how the app tells them apart; and who a caller is inside an
organisation."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.permissions import ALL
from app.core.request import Clock
from app.identity.auth_cache import AuthCache
from app.identity.models import ApiKey, OrgApiKey, User, UserSession

Authenticate = Callable[
    [AsyncSession, Settings, Clock, AuthCache[Any] | None, str],
    Awaitable[UserSession | ApiKey | OrgApiKey],
]


@dataclass(frozen=True)
class BearerKind:
    """A kind of bearer token besides a session's, told apart by its prefix: the feature that
    issues it says how to authenticate one (`AppState.bearer_kinds`, set in `main.py`)."""

    prefix: str
    authenticate: Authenticate


@dataclass(frozen=True, slots=True)
class OrgMember:
    """A caller acting in one organisation: a member (`user`), with what their roles there
    grant (as read with the credential), or one of its API keys (`key_id`, no user), with its
    scopes. A superuser there holds every permission: an owner."""

    user: User | None
    org_id: uuid.UUID
    permissions: frozenset[str]
    key_id: uuid.UUID | None = None
    # Whether a session's user proved who they are within `REAUTH_WINDOW` (a key: always, as
    # for personal keys): sensitive acts in the organisation need it.
    recently_authenticated: bool = True

    @property
    def id(self) -> uuid.UUID:
        """The member's user id, or the key's id."""
        if self.user is not None:
            return self.user.id
        if self.key_id is None:
            raise TypeError("An OrgMember is a user or a key")
        return self.key_id

    @property
    def is_superuser(self) -> bool:
        return ALL in self.permissions
