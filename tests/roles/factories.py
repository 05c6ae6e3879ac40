"""Roles for tests."""

from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import Role, RolePermission


async def create_role(session: AsyncSession, *permissions: str, name: str | None = None) -> Role:
    """A custom role granting `permissions`."""
    role = Role(name=name or f"role-{uuid4().hex[:12]}")
    session.add(role)
    await session.flush()
    session.add_all(RolePermission(role_id=role.id, permission=name) for name in permissions)
    await session.commit()
    await session.refresh(role)
    return role
