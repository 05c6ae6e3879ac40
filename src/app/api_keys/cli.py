"""`app api-keys create`: a key for automation, from the command line."""

import asyncio
from datetime import datetime
from typing import Annotated

import typer
from pydantic import ValidationError

from app.api_keys.dependencies import build_api_key_service
from app.api_keys.schemas import ApiKeySpec
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import AppError
from app.core.permissions import declared
from app.identity.dependencies import build_user_directory
from app.identity.schemas import normalise_email
from app.permissions import PERMISSIONS

api_keys_cli = typer.Typer(help="Personal API keys.", no_args_is_help=True)
# What a key may be scoped to: every platform permission (all of `PERMISSIONS` is declared
# once it is imported) but the personal ones.
SCOPES = ", ".join(
    name for name in PERMISSIONS if name in declared() and not declared()[name].personal
)


@api_keys_cli.command()
def create(
    user: Annotated[str, typer.Option("--user", help="The owner's email.")],
    scope: Annotated[
        list[str], typer.Option(help=f"A permission the key may use (repeat): {SCOPES}.")
    ],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    expires_at: Annotated[
        datetime | None, typer.Option(help="When it stops working (UTC); never by default.")
    ] = None,
) -> None:
    """Create a key for a user and print it (this once: only its hash is stored)."""
    try:
        data = ApiKeySpec(
            name=name,
            scopes=scope,
            expires_at=expires_at.isoformat() + "Z" if expires_at else None,
        )
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"{error['loc'][0]}: {error['msg']}", err=True)
        raise typer.Exit(code=2) from exc
    try:
        typer.echo(asyncio.run(_create(Settings(), normalise_email(user), data)))
    except AppError as exc:
        typer.echo(f"Error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc


async def _create(settings: Settings, email: str, data: ApiKeySpec) -> str:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            owner = await build_user_directory(session).get_by_email(email)
            created = await build_api_key_service(session, settings).create(owner, data)
        return created.key
    finally:
        await engine.dispose()
