import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.audit import is_declared
from app.core.errors import NotFoundError
from app.core.request import Clock
from app.identity.credentials import OrgMember
from app.identity.models import User
from app.identity.repository import AuditRecords, UserRecords

# A write of one audit event in a unit of work of its own (`AuditLog.record_apart`).
WriteApart = Callable[[Mapping[str, Any]], Awaitable[None]]


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


@dataclass(frozen=True)
class AuditContext:
    """Where a request came from, as its audit events record it."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Target:
    """What an audited act was done to: a kind (`user`, `session`, `role`, …) and its id."""

    type: str
    id: object


class AuditLog:
    """Writes audit events in the caller's unit of work: an event exists exactly when the
    change it records committed. `record_apart` is for what must be kept although its
    request fails (a refused login): a unit of work of its own, committed at once.

    `details` must never hold a secret (a password, a token, a key): only what helps the
    reader tell what happened."""

    def __init__(
        self,
        records: AuditRecords,
        *,
        context: AuditContext,
        clock: Clock,
        apart: WriteApart | None = None,
    ):
        self.records = records
        self.context = context
        self.clock = clock
        self.apart = apart

    async def record(
        self,
        action: str,
        *,
        actor_id: uuid.UUID | None = None,
        api_key_id: uuid.UUID | None = None,
        subject_id: uuid.UUID | None = None,
        org_id: uuid.UUID | None = None,
        target: Target | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        event = self._event(action, actor_id, api_key_id, subject_id, org_id, target, details or {})
        await self.records.add(event)

    async def record_in_org(
        self,
        action: str,
        actor: OrgMember,
        *,
        subject_id: uuid.UUID | None = None,
        target: Target | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """An act inside `actor`'s organisation, by a member or by one of its API keys."""
        await self.record(
            action,
            actor_id=actor.user.id if actor.user else None,
            api_key_id=actor.key_id,
            subject_id=subject_id,
            org_id=actor.org_id,
            target=target,
            details=details,
        )

    async def record_apart(
        self,
        action: str,
        *,
        actor_id: uuid.UUID | None = None,
        subject_id: uuid.UUID | None = None,
        target: Target | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        event = self._event(action, actor_id, None, subject_id, None, target, details or {})
        if self.apart is None:
            await self.records.add(event)
        else:
            await self.apart(event)

    def _event(
        self,
        action: str,
        actor_id: uuid.UUID | None,
        api_key_id: uuid.UUID | None,
        subject_id: uuid.UUID | None,
        org_id: uuid.UUID | None,
        target: Target | None,
        details: Mapping[str, Any],
    ) -> dict[str, Any]:
        if not is_declared(action):
            raise ValueError(f"Audit action {action!r} is not declared")
        return {
            "id": uuid.uuid4(),
            "at": self.clock(),
            "action": action,
            "actor_id": actor_id,
            "api_key_id": api_key_id,
            "subject_id": subject_id,
            "org_id": org_id,
            "target_type": target.type if target else None,
            "target_id": str(target.id) if target else None,
            "ip": self.context.ip,
            "user_agent": self.context.user_agent,
            "request_id": self.context.request_id,
            "details": dict(details),
        }
