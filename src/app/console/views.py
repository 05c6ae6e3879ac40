"""The console's pages: starlette-admin lists, searches and shows rows; every change is a row
action calling the service the API calls, inside the request's unit of work. Nothing is
created, edited, deleted or imported through the library's own forms: those write rows
directly, past the services' rules."""

import uuid
from collections.abc import Awaitable, Mapping, Sequence
from html import escape
from typing import Any, ClassVar, cast

from sqlalchemy import Select, select
from starlette.requests import Request
from starlette_admin import BaseField, RowActionsDisplayType, row_action
from starlette_admin.contrib.sqla import ModelView
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash

from app.api_keys.permissions import API_KEYS_ADMIN
from app.audit.permissions import AUDIT_READ
from app.console.dependencies import ConsoleServices, operator, unit_of_work
from app.core.errors import AppError
from app.core.permissions import allows
from app.identity.models import ApiKey, AuditEvent, Role, User, UserSession
from app.jobs.models import Job, JobState
from app.jobs.permissions import JOBS_ADMIN
from app.mail.jobs import MAIL_DELIVERY
from app.roles.permissions import ROLES_ADMIN
from app.state import AppState
from app.users.permissions import USERS_ADMIN
from app.users.schemas import UserAdminUpdate


class ConsoleView(ModelView):
    """Read-only rows, shown to holders of `permission`; row actions each need the permission
    `action_permissions` names (else `permission`)."""

    permission: ClassVar[str]
    action_permissions: ClassVar[Mapping[str, str]] = {}
    # The columns shown, by name: never a secret's (password and token hashes, job payloads).
    columns: ClassVar[tuple[str, ...]]
    exporters = ()
    actions = ()
    page_size = 25

    def __init__(self, state: AppState, model: type[Any], **kwargs: Any):
        # starlette-admin's SQLAlchemy view converts column names into its fields itself.
        self.fields = cast(Sequence[BaseField], self.columns)
        super().__init__(model, **kwargs)
        self.state = state

    def is_accessible(self, request: Request) -> bool:
        return allows(operator(request).permissions, self.permission)

    def can_create(self, request: Request) -> bool:
        return False

    def can_edit(self, request: Request) -> bool:
        return False

    def can_delete(self, request: Request) -> bool:
        return False

    def can_import(self, request: Request) -> bool:
        return False

    def can_export(self, request: Request) -> bool:
        return False

    async def is_row_action_allowed(self, request: Request, name: str) -> bool:
        if name == "view":
            return True
        needed = self.action_permissions.get(name, self.permission)
        return allows(operator(request).permissions, needed)

    def services(self, request: Request) -> ConsoleServices:
        return ConsoleServices(self.state, unit_of_work(request))


async def acting(request: Request, work: Awaitable[object], done: str) -> None:
    """`done` shown on the next page once `work` (a service call) succeeded; its error shown
    otherwise, and the library then rolls the unit of work back (it answers 400)."""
    try:
        await work
    except AppError as error:
        raise ActionFailed(error.detail) from error
    flash(request, done, "success")


class UserView(ConsoleView):
    permission = USERS_ADMIN
    action_permissions: ClassVar[Mapping[str, str]] = {
        "grant_role": ROLES_ADMIN,
        "revoke_role": ROLES_ADMIN,
    }
    columns = ("id", "email", "full_name", "is_active", "email_verified_at", "created_at")
    searchable_fields = ("email", "full_name")
    sortable_fields = ("email", "created_at")
    fields_default_sort = (("created_at", True),)
    row_actions_display_type = RowActionsDisplayType.DROPDOWN
    row_actions = (
        "view",
        "deactivate",
        "activate",
        "grant_role",
        "revoke_role",
        "sign_out",
        "resend_verification",
    )

    def get_list_query(self, request: Request) -> Select[Any]:
        return select(User).where(User.deleted_at.is_(None))

    def get_count_query(self, request: Request) -> Select[Any]:
        return super().get_count_query(request).where(User.deleted_at.is_(None))

    def get_detail_query(self, request: Request) -> Select[Any]:
        return select(User).where(User.deleted_at.is_(None))

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        if name == "deactivate" and not obj.is_active:
            return False
        if name == "activate" and obj.is_active:
            return False
        if name == "resend_verification" and obj.email_verified_at is not None:
            return False
        return await self.is_row_action_allowed(request, name)

    @row_action(
        name="deactivate",
        text="Deactivate",
        confirmation="Deactivate this user? Their sessions end and their API keys stop working "
        "at once.",
        submit_btn_text="Deactivate",
        icon_class="fa fa-user-slash",
    )
    async def deactivate(self, request: Request, pk: Any) -> None:
        change = UserAdminUpdate(is_active=False)
        work = self.services(request).users.update(operator(request), uuid.UUID(pk), change)
        await acting(request, work, "Deactivated: their sessions and keys are revoked")

    @row_action(
        name="activate",
        text="Reactivate",
        confirmation="Let this user sign in again?",
        submit_btn_text="Reactivate",
        icon_class="fa fa-user-check",
    )
    async def activate(self, request: Request, pk: Any) -> None:
        change = UserAdminUpdate(is_active=True)
        work = self.services(request).users.update(operator(request), uuid.UUID(pk), change)
        await acting(request, work, "Reactivated")

    @row_action(
        name="grant_role",
        text="Grant a role",
        confirmation="Grant this user a role:",
        submit_btn_text="Grant",
        icon_class="fa fa-user-plus",
        form=lambda request, obj: _role_choice(request, obj),
    )
    async def grant_role(self, request: Request, pk: Any) -> None:
        services = self.services(request)
        user = await services.users.get(uuid.UUID(pk))
        role_id = await _chosen_role(request)
        work = services.roles.grant(operator(request), user, role_id)
        await acting(request, work, "Role granted")

    @row_action(
        name="revoke_role",
        text="Take back a role",
        confirmation="Take back one of this user's roles:",
        submit_btn_text="Take back",
        icon_class="fa fa-user-minus",
        form=lambda request, obj: _role_choice(request, obj, held=True),
    )
    async def revoke_role(self, request: Request, pk: Any) -> None:
        services = self.services(request)
        user = await services.users.get(uuid.UUID(pk))
        role_id = await _chosen_role(request)
        work = services.roles.take_back(operator(request), user, role_id)
        await acting(request, work, "Role taken back")

    @row_action(
        name="sign_out",
        text="End all sessions",
        confirmation="End every session of this user? The links mailed to them stop working "
        "too; their API keys keep working.",
        submit_btn_text="End them",
        icon_class="fa fa-right-from-bracket",
    )
    async def sign_out(self, request: Request, pk: Any) -> None:
        services = self.services(request)
        user = await services.users.get(uuid.UUID(pk))
        sessions = services.user_sessions
        work = sessions.sign_out_everywhere(user.id, actor_id=operator(request).id)
        await acting(request, work, "Every session of the user ended")

    @row_action(
        name="resend_verification",
        text="Resend the verification mail",
        confirmation="Mail this user a new link to verify their address?",
        submit_btn_text="Send it",
        icon_class="fa fa-envelope",
    )
    async def resend_verification(self, request: Request, pk: Any) -> None:
        services = self.services(request)
        user = await services.users.get(uuid.UUID(pk))
        work = services.accounts.resend_verification(user, actor_id=operator(request).id)
        await acting(request, work, "Verification mail queued")


async def _role_choice(request: Request, user: User, *, held: bool = False) -> str:
    """A choice of the roles to grant (those the user lacks), or to take back (those held)."""
    roles = await _roles(request)
    offered = [role for role in roles if (role.name in user.roles) == held]
    options = "".join(f'<option value="{role.id}">{escape(role.name)}</option>' for role in offered)
    return (
        '<form><label class="form-label" for="role">Role</label>'
        f'<select class="form-select" id="role" name="role" required>{options}</select></form>'
    )


async def _roles(request: Request) -> list[Role]:
    result = await unit_of_work(request).scalars(select(Role).order_by(Role.name))
    return list(result)


async def _chosen_role(request: Request) -> uuid.UUID:
    chosen = (await request.form()).get("role")
    try:
        return uuid.UUID(str(chosen))
    except ValueError as error:
        raise ActionFailed("Choose a role") from error


class SessionView(ConsoleView):
    """Sessions: the token's hash never shows."""

    permission = USERS_ADMIN
    columns = ("id", "user_id", "created_at", "last_used_at", "expires_at", "ip", "user_agent")
    searchable_fields = ("ip", "user_agent")
    fields_default_sort = (("last_used_at", True),)
    row_actions = ("view", "revoke")

    @row_action(
        name="revoke",
        text="Revoke",
        confirmation="End this session now?",
        submit_btn_text="Revoke",
        icon_class="fa fa-ban",
    )
    async def revoke(self, request: Request, pk: Any) -> None:
        found: UserSession | None = await self.find_by_pk(request, pk)
        if found is None:
            raise ActionFailed("Session not found")
        sessions = self.services(request).user_sessions
        work = sessions.revoke(found.user_id, found.id, actor_id=operator(request).id)
        await acting(request, work, "Session revoked")


class ApiKeyView(ConsoleView):
    """Personal API keys: the key's hash never shows."""

    permission = API_KEYS_ADMIN
    columns = (
        "id",
        "user_id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
    )
    searchable_fields = ("name", "prefix")
    fields_default_sort = (("created_at", True),)
    row_actions = ("view", "revoke")

    @row_action(
        name="revoke",
        text="Revoke",
        confirmation="Revoke this key? Whatever uses it is refused from now on.",
        submit_btn_text="Revoke",
        icon_class="fa fa-ban",
    )
    async def revoke(self, request: Request, pk: Any) -> None:
        found: ApiKey | None = await self.find_by_pk(request, pk)
        if found is None:
            raise ActionFailed("API key not found")
        keys = self.services(request).api_keys
        work = keys.revoke(found.user_id, found.id, actor_id=operator(request).id)
        await acting(request, work, "API key revoked")


class AuditEventView(ConsoleView):
    permission = AUDIT_READ
    columns = (
        "id",
        "at",
        "action",
        "actor_id",
        "api_key_id",
        "subject_id",
        "org_id",
        "target_type",
        "target_id",
        "ip",
        "user_agent",
        "request_id",
        "details",
    )
    exclude_fields_from_list = ("id", "api_key_id", "user_agent", "request_id")
    searchable_fields = ("action", "target_type", "ip")
    sortable_fields = ("at", "action")
    fields_default_sort = (("at", True),)
    row_actions = ("view",)


class JobView(ConsoleView):
    """Background jobs, without their payloads (a mail's holds its links' tokens)."""

    permission = JOBS_ADMIN
    columns = (
        "id",
        "name",
        "queue",
        "state",
        "attempts",
        "max_attempts",
        "run_at",
        "last_error",
        "created_at",
        "started_at",
        "finished_at",
    )
    searchable_fields = ("name", "state", "last_error")
    sortable_fields = ("created_at", "run_at", "state", "name")
    fields_default_sort = (("created_at", True),)
    row_actions = ("view", "retry", "cancel")

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        if name == "retry" and obj.state not in (JobState.DEAD, JobState.CANCELLED):
            return False
        if name == "cancel" and obj.state not in (JobState.READY, JobState.RUNNING):
            return False
        return await self.is_row_action_allowed(request, name)

    @row_action(
        name="retry",
        text="Retry",
        confirmation="Run this job again now, with all its attempts?",
        submit_btn_text="Retry",
        icon_class="fa fa-rotate-right",
    )
    async def retry(self, request: Request, pk: Any) -> None:
        work = self.services(request).jobs.retry(uuid.UUID(pk), actor_id=operator(request).id)
        await acting(request, work, "Ready to run again")

    @row_action(
        name="cancel",
        text="Cancel",
        confirmation="Cancel this job? A running one stops at its next lease renewal.",
        submit_btn_text="Cancel the job",
        icon_class="fa fa-stop",
    )
    async def cancel(self, request: Request, pk: Any) -> None:
        work = self.services(request).jobs.cancel(uuid.UUID(pk), actor_id=operator(request).id)
        await acting(request, work, "Cancelled")


class MailView(JobView):
    """The mail outbox: its deliveries are jobs of one type."""

    def get_list_query(self, request: Request) -> Select[Any]:
        return select(Job).where(Job.name == MAIL_DELIVERY.name)

    def get_count_query(self, request: Request) -> Select[Any]:
        return super().get_count_query(request).where(Job.name == MAIL_DELIVERY.name)

    def get_detail_query(self, request: Request) -> Select[Any]:
        return select(Job).where(Job.name == MAIL_DELIVERY.name)


def console_views(state: AppState) -> list[ConsoleView]:
    return [
        UserView(
            state, User, icon="fa fa-users", display_name="User", menu_label="Users", key="users"
        ),
        SessionView(
            state,
            UserSession,
            icon="fa fa-id-badge",
            display_name="Session",
            menu_label="Sessions",
            key="sessions",
        ),
        ApiKeyView(
            state,
            ApiKey,
            icon="fa fa-key",
            display_name="API key",
            menu_label="API keys",
            key="api-keys",
        ),
        AuditEventView(
            state,
            AuditEvent,
            icon="fa fa-list",
            display_name="Audit event",
            menu_label="Audit log",
            key="audit-events",
        ),
        JobView(state, Job, icon="fa fa-gears", display_name="Job", menu_label="Jobs", key="jobs"),
        MailView(
            state,
            Job,
            icon="fa fa-envelope",
            display_name="Mail",
            menu_label="Mail",
            key="mail",
        ),
    ]
