"""`app roles …`: who holds which role, from the command line (for automation)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import AppError
from app.identity.auth_cache import revoke_elsewhere
from app.identity.dependencies import build_user_directory
from app.identity.models import User
from app.identity.schemas import normalise_email
from app.roles.dependencies import build_role_service
from app.roles.service import RoleService

roles_cli = typer.Typer(help="Roles and who holds them.", no_args_is_help=True)
UserOption = Annotated[str, typer.Option("--user", help="The user's email.")]


@roles_cli.command("list")
def list_roles() -> None:
    """Every role with the permissions it grants."""

    async def show(session: AsyncSession, roles: RoleService) -> None:
        for role in await roles.list_all():
            built_in = " (built in)" if role.built_in else ""
            typer.echo(f"{role.name}{built_in}: {' '.join(role.permissions) or '-'}")

    _run(show)


@roles_cli.command()
def grant(role: str, user: UserOption) -> None:
    """Give a user a role."""
    _change(role, user, RoleService.grant_by_name, "holds")


@roles_cli.command()
def revoke(role: str, user: UserOption) -> None:
    """Take a role from a user (the last active admin keeps theirs)."""
    _change(role, user, RoleService.take_back_by_name, "no longer holds")


def _change(
    role: str,
    email: str,
    change: Callable[[RoleService, User, str], Awaitable[None]],
    done: str,
) -> None:
    async def work(session: AsyncSession, roles: RoleService) -> None:
        users = build_user_directory(session)
        await change(roles, await users.get_by_email(normalise_email(email)), role)

    _run(work)
    typer.echo(f"{email} {done} {role}")


def _run(work: Callable[[AsyncSession, RoleService], Awaitable[None]]) -> None:
    """`work` in one transaction; once committed, the running servers see the change."""

    async def main(settings: Settings) -> None:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine).begin() as session:
                await work(session, build_role_service(session))
            await revoke_elsewhere(settings, session)
        finally:
            await engine.dispose()

    try:
        asyncio.run(main(Settings()))
    except AppError as exc:
        typer.echo(f"Error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc
