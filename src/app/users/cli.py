"""`app users …`: user administration from the command line."""

import asyncio
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import AlreadyExistsError
from app.core.security import PasswordHasher
from app.identity.models import ADMIN, USER
from app.users.dependencies import build_user_service
from app.users.schemas import UserCreate

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
