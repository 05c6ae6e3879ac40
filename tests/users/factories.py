"""Users and signed-in clients for tests."""

import uuid
from typing import NamedTuple
from uuid import uuid4

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.core.security import PasswordHasher
from app.identity.models import ADMIN, USER, Role, User, UserRole

DEFAULT_PASSWORD = "correct horse battery"
# What a user looks like in every response: never a password hash.
USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "is_active",
    "email_verified_at",
    "is_superuser",
    "roles",
    "created_at",
    "updated_at",
}
_hasher: PasswordHasher | None = None


async def hash_password(password: str) -> str:
    global _hasher
    if _hasher is None:
        _hasher = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1, concurrency=2)
    return await _hasher.hash(password)


def unique_email() -> str:
    return f"user-{uuid4().hex[:12]}@example.com"


async def create_user(
    session: AsyncSession,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str | None = None,
    is_active: bool = True,
    is_superuser: bool = False,
    roles: tuple[str, ...] = (USER,),
    hashed_password: str | None = None,
    verified: bool = True,
) -> User:
    """A user holding `roles` (and `admin` for a superuser), with a verified address unless
    `verified=False`."""
    user = User(
        email=email or unique_email(),
        hashed_password=hashed_password or await hash_password(password),
        full_name=full_name,
        is_active=is_active,
        email_verified_at=utcnow() if verified else None,
    )
    session.add(user)
    await session.flush()
    names = {*roles, *([ADMIN] if is_superuser else [])}
    role_ids = await session.scalars(select(Role.id).where(Role.name.in_(names)))
    session.add_all(UserRole(user_id=user.id, role_id=role_id) for role_id in role_ids)
    await session.commit()
    await session.refresh(user)
    return user


async def login(client: AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class SignedIn(NamedTuple):
    """A user and the bearer headers of one of their sessions."""

    user: User
    headers: dict[str, str]


async def signed_in(client: AsyncClient, session: AsyncSession, **fields: object) -> SignedIn:
    """A new user, signed in."""
    user = await create_user(session, **fields)  # type: ignore[arg-type]
    return SignedIn(user, bearer(await login(client, user.email)))


def user_url(user_id: uuid.UUID | str) -> str:
    return f"/api/v1/users/{user_id}"
