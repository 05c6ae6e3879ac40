"""`app users …`: user administration from the command line."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.crypto import UndecryptableError
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import AlreadyExistsError, NotFoundError
from app.core.ratelimit import create_rate_limiter
from app.core.security import PasswordHasher
from app.factors.dependencies import build_factor_service
from app.factors.service import FactorService
from app.identity.dependencies import build_user_directory
from app.identity.models import ADMIN, USER
from app.passkeys.dependencies import remove_passkeys
from app.users.dependencies import build_user_service
from app.users.schemas import UserCreate

FactorWork = Callable[[FactorService, AsyncSession], Awaitable[str]]

users_cli = typer.Typer(help="User administration.", no_args_is_help=True)


@users_cli.command("create-superuser")
def create_superuser(
    email: Annotated[str, typer.Option(prompt=True, help="Login email.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when omitted."
        ),
    ],
    full_name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a superuser (the first administrator)."""
    try:
        data = UserCreate(email=email, password=password, full_name=full_name)
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"{error['loc'][0]}: {error['msg']}", err=True)
        raise typer.Exit(code=2) from exc
    try:
        asyncio.run(_create_superuser(Settings(), data))
    except AlreadyExistsError as exc:
        typer.echo(f"Error: {exc.detail}: {data.email}", err=True)
        raise typer.Exit(code=1) from exc
    except (DBAPIError, OSError) as exc:
        # Only the driver's first line: the full exception shows the INSERT's parameters, and
        # with them the password hash.
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        reason = next(iter(str(cause).splitlines()), type(cause).__name__)
        typer.echo(f"Error: could not write to the database ({reason}).", err=True)
        typer.echo("Is it reachable, and migrated with `app db upgrade`?", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"Created superuser {data.email}")


async def _create_superuser(settings: Settings, data: UserCreate) -> None:
    engine = create_engine(settings)
    try:
        hashed_password = await PasswordHasher.from_settings(settings).hash(data.password)
        async with create_sessionmaker(engine).begin() as session:
            await build_user_service(session, settings).create(
                email=data.email,
                hashed_password=hashed_password,
                full_name=data.full_name,
                roles=(USER, ADMIN),
            )
    finally:
        await engine.dispose()


@users_cli.command("reset-2fa")
def reset_2fa(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Remove the account's second factors and passkeys (a lost phone): it signs in with its
    password alone until it enrols again. Audited as `factor.totp_reset`."""

    async def work(factors: FactorService, session: AsyncSession) -> str:
        user = await build_user_directory(session).get_by_email(email.strip().lower())
        passkeys = await remove_passkeys(session, user.id)
        removed = await factors.reset(user, passkeys_removed=passkeys)
        return f"Removed the second factors of {user.email}" if removed else "None to remove"

    typer.echo(_with_factors(work))


@users_cli.command("reencrypt-factors")
def reencrypt_factors() -> None:
    """Re-encrypt every authenticator seed under the first of `ENCRYPTION_KEYS` (after
    putting a new key first; drop the old one once this has run)."""

    async def work(factors: FactorService, _session: AsyncSession) -> str:
        return f"{await factors.reencrypt()} re-encrypted"

    typer.echo(_with_factors(work))


def _with_factors(work: FactorWork) -> str:
    async def main(settings: Settings) -> str:
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with sessionmaker.begin() as session:
                limiter = create_rate_limiter(settings, None)
                factors = build_factor_service(
                    session, settings, sessionmaker=sessionmaker, limiter=limiter
                )
                return await work(factors, session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main(Settings()))
    except NotFoundError as exc:
        typer.echo(f"Error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc
    except UndecryptableError as exc:
        typer.echo(f"Error: {exc} (is a key missing from ENCRYPTION_KEYS?)", err=True)
        raise typer.Exit(code=1) from exc
