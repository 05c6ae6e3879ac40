from datetime import datetime

from sqlalchemy import Index, String, func, select, text
from sqlalchemy.orm import Mapped, column_property, declared_attr, mapped_column

from app.core.models import Base, SoftDeleteMixin, TimestampMixin, UUIDPrimaryKeyMixin
from app.core.permissions import ALL
from app.core.security import new_security_stamp
from app.roles.models import Role, RolePermission, UserRole


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
    hashed_password: Mapped[str] = mapped_column(String(255))
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

    @property
    def roles(self) -> list[str]:
        return sorted(set((self.role_names or "").split()))

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset((self.permission_names or "").split())

    @property
    def is_superuser(self) -> bool:
        """Holds every permission: the `admin` role."""
        return ALL in self.permissions
