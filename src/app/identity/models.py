"""Who people are, how they sign in and what they may do where: users, their roles and grants,
their sessions and API keys, the organisations they belong to with their roles there, and the
audit log of what was done with all of these. Every feature that needs to know who is calling
imports these, from below every one of them."""

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, declared_attr, mapped_column, relationship

from app.core.models import (
    Base,
    SoftDeleteMixin,
    TimestampMixin,
    UUIDPrimaryKeyMixin,
    VersionMixin,
    utcnow,
)
from app.core.permissions import ALL
from app.core.security import new_security_stamp

ADMIN = "admin"
USER = "user"
# The built-in roles every organisation has.
OWNER, ORG_ADMIN, MEMBER = "owner", "admin", "member"
BUILT_IN_ORG_ROLES = (OWNER, ORG_ADMIN, MEMBER)
# What every API key starts with, so that secret scanners (and people) recognise one.
KEY_PREFIX = "app_live_"
# What every organisation's API key starts with.
ORG_KEY_PREFIX = "app_org_"


class Role(Base, UUIDPrimaryKeyMixin, TimestampMixin):
    """A named bundle of permissions. `admin` and `user` are built in: neither can be renamed or
    deleted, and `admin` always holds every permission."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    built_in: Mapped[bool] = mapped_column(default=False)

    grants: Mapped[list["RolePermission"]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="RolePermission.permission",
    )

    @property
    def permissions(self) -> list[str]:
        return [grant.permission for grant in self.grants]


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(100), primary_key=True)


class UserRole(Base):
    """Who holds which role."""

    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Organisation(Base, UUIDPrimaryKeyMixin, TimestampMixin, VersionMixin):
    """A team whose members share its data. Deleting one deletes everything it owns."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)


class OrgRole(Base, UUIDPrimaryKeyMixin, TimestampMixin):
    """A bundle of organisation permissions. The built-in ones (`owner`, `admin`, `member`)
    have no `org_id`: every organisation shares them; an organisation's own have its id."""

    __tablename__ = "org_roles"
    __table_args__ = (Index("uq_org_roles_org_id_name", "org_id", "name", unique=True),)

    org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(500), default="")
    built_in: Mapped[bool] = mapped_column(default=False)

    grants: Mapped[list["OrgRolePermission"]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="OrgRolePermission.permission",
    )

    @property
    def permissions(self) -> list[str]:
        return [grant.permission for grant in self.grants]


class OrgRolePermission(Base):
    __tablename__ = "org_role_permissions"

    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("org_roles.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(100), primary_key=True)


class MemberRole(Base):
    """Which roles a member holds in their organisation."""

    __tablename__ = "member_roles"

    membership_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("org_roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Membership(Base, UUIDPrimaryKeyMixin):
    """A user's place in an organisation, with the roles they hold there."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("uq_memberships_org_id_user_id", "org_id", "user_id", unique=True),
        Index("ix_memberships_user_id", "user_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @declared_attr
    def role_names(cls) -> Mapped[str | None]:
        names = (
            select(func.aggregate_strings(OrgRole.name, " "))
            .join_from(MemberRole, OrgRole)
            .where(MemberRole.membership_id == cls.id)
        )
        return column_property(names.scalar_subquery())

    user: Mapped["User"] = relationship(lazy="raise")

    @property
    def roles(self) -> list[str]:
        return sorted((self.role_names or "").split())

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def full_name(self) -> str | None:
        return self.user.full_name


class User(Base, UUIDPrimaryKeyMixin, TimestampMixin, SoftDeleteMixin):
    __tablename__ = "users"
    __table_args__ = (
        # One live account per email; a soft-deleted account frees its address.
        Index(
            "uq_users_email_live",
            "email",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        Index("ix_users_created_at", "created_at"),
    )

    email: Mapped[str] = mapped_column(String(320))
    # None for an account made through a sign-in provider, until a password is set (reset).
    hashed_password: Mapped[str | None] = mapped_column(String(255), default=None)
    full_name: Mapped[str | None] = mapped_column(String(200), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    # Changes with every change of credentials (password, email, deactivation, signing out
    # everywhere): a mailed token carries the stamp it was issued under, and dies with it.
    security_stamp: Mapped[str] = mapped_column(String(32), default=new_security_stamp)

    # Loaded with the user in the same statement (the auth lookup among them), so checking a
    # permission never costs a query: the names of the user's roles and of what they grant.
    @declared_attr
    def role_names(cls) -> Mapped[str | None]:
        names = (
            select(func.aggregate_strings(Role.name, " "))
            .join_from(UserRole, Role)
            .where(UserRole.user_id == cls.id)
        )
        return column_property(names.scalar_subquery())

    @declared_attr
    def permission_names(cls) -> Mapped[str | None]:
        names = (
            select(func.aggregate_strings(RolePermission.permission, " "))
            .join_from(UserRole, RolePermission, UserRole.role_id == RolePermission.role_id)
            .where(UserRole.user_id == cls.id)
        )
        return column_property(names.scalar_subquery())

    @declared_attr
    def org_grant_names(cls) -> Mapped[str | None]:
        """`<org id>:<permission>` for each permission the user holds in an organisation, and
        `<org id>:` for each organisation (so a member whose roles grant nothing is one)."""
        grant = (
            Membership.org_id.cast(String) + ":" + func.coalesce(OrgRolePermission.permission, "")
        )
        names = (
            select(func.aggregate_strings(grant, " "))
            .select_from(Membership)
            .outerjoin(MemberRole, MemberRole.membership_id == Membership.id)
            .outerjoin(OrgRolePermission, OrgRolePermission.role_id == MemberRole.role_id)
            .where(Membership.user_id == cls.id)
        )
        return column_property(names.scalar_subquery())

    @property
    def roles(self) -> list[str]:
        return sorted(set((self.role_names or "").split()))

    def org_permissions(self, org_id: uuid.UUID) -> frozenset[str] | None:
        """What the user may do in the organisation; None when they are not a member."""
        permissions: set[str] | None = None
        for grant in (self.org_grant_names or "").split():
            org, _, permission = grant.partition(":")
            if uuid.UUID(org) == org_id:
                permissions = permissions or set()
                if permission:
                    permissions.add(permission)
        return None if permissions is None else frozenset(permissions)

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset((self.permission_names or "").split())

    @property
    def is_superuser(self) -> bool:
        """Holds every permission: the `admin` role."""
        return ALL in self.permissions


class UserSession(Base, UUIDPrimaryKeyMixin):
    """A server-side login session. The bearer token itself is never stored, only its SHA-256."""

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    # When its user last proved who they are again (`POST /auth/reauth`); None: at sign-in.
    reauthenticated_at: Mapped[datetime | None] = mapped_column(default=None)
    # The factor its user proved beyond a password (`totp`, `recovery_code`, `passkey`), at
    # sign-in or by enrolling one in it; None: the password (or a provider) alone.
    second_factor: Mapped[str | None] = mapped_column(String(20), default=None)

    user: Mapped[User] = relationship(lazy="raise")

    @property
    def authenticated_at(self) -> datetime:
        return self.reauthenticated_at or self.created_at


class ApiKey(Base, UUIDPrimaryKeyMixin):
    """A personal credential for machines. The key itself is never stored, only its SHA-256;
    `prefix` (its first characters) tells keys apart in lists."""

    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(lazy="raise")


class OrgApiKey(Base, UUIDPrimaryKeyMixin):
    """An organisation's credential for machines (a service account): it acts in that
    organisation only, with its scopes, whoever made it, and dies with it. Only the key's
    SHA-256 is stored."""

    __tablename__ = "org_api_keys"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base, UUIDPrimaryKeyMixin):
    """One security-relevant act, written in the unit of work of the change it records: who
    (`actor_id`, with `api_key_id` when a key acted), whom it concerns (`subject_id`: their
    security events), what on which target, from where. Append-only: the database refuses
    UPDATE, and DELETE outside the retention purge (migration 2026-12-05-1609). No foreign
    keys: a record outlives the user, key or organisation it names."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at", "id"),
        Index("ix_audit_events_actor_id", "actor_id", "at"),
        Index("ix_audit_events_subject_id", "subject_id", "at"),
        Index("ix_audit_events_org_id", "org_id", "at"),
    )

    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    org_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    target_type: Mapped[str | None] = mapped_column(String(50), default=None)
    target_id: Mapped[str | None] = mapped_column(String(100), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    request_id: Mapped[str | None] = mapped_column(String(100), default=None)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class AuditPurge(Base):
    """Present only inside the retention purge's transaction: the one time the append-only
    trigger lets rows of `audit_events` go."""

    __tablename__ = "audit_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
