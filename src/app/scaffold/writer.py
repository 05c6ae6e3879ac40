"""Writes a rendered feature into the project, registers its router and makes its migration."""

import importlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command

import app
from app.core.config import Settings
from app.core.migrations import alembic_config
from app.scaffold.render import render
from app.scaffold.spec import EntitySpec, ScaffoldError

PROJECT_ROOT = Path(app.__file__).resolve().parents[2]
API_MODULE = Path("src/app/api.py")
PERMISSIONS_MODULE = Path("src/app/permissions.py")


def existing_features(root: Path = PROJECT_ROOT) -> set[str]:
    return {path.name for path in (root / "src/app").iterdir() if path.is_dir()}


def generate(
    spec: EntitySpec,
    *,
    root: Path = PROJECT_ROOT,
    dry_run: bool = False,
    force: bool = False,
    echo: Callable[[str], None] = print,
) -> list[Path]:
    """Writes the feature and its tests, wires the router, formats, and adds the migration."""
    files = render(spec)
    clashes = sorted(path for path in files if (root / path).exists())
    if clashes and not force:
        raise ScaffoldError(f"would overwrite {', '.join(clashes)}; pass --force to replace them")
    if dry_run:
        for path in [
            *files,
            str(API_MODULE),
            str(PERMISSIONS_MODULE),
            f"src/app/migrations/versions/…_add_{spec.plural}.py",
        ]:
            echo(f"would write {path}")
        return []
    written = [_write(root / path, text) for path, text in files.items()]
    _register_router(root / API_MODULE, spec)
    _register_permissions(root / PERMISSIONS_MODULE, spec)
    format_files(root, [*written, root / API_MODULE, root / PERMISSIONS_MODULE], echo)
    migration = _make_migration(root, spec)
    if migration is not None:
        format_files(root, [migration], echo)
    for written_path in [*written, *([migration] if migration else [])]:
        echo(f"wrote {written_path.relative_to(root)}")
    if migration is None:
        echo("the schema already matches the models: no migration written")
    echo(
        f"registered the router in {API_MODULE} and the permissions in {PERMISSIONS_MODULE}; "
        "models are discovered by the migrations"
    )
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _register_router(api: Path, spec: EntitySpec) -> None:
    """One import and one `include` line; running it again changes nothing."""
    source = api.read_text()
    name = f"{spec.plural}_router"
    import_line = f"from app.{spec.plural}.router import router as {name}\n"
    include_line = f"    include({name})\n"
    if import_line not in source:
        last_import = list(re.finditer(r"^from app\..*\n", source, re.MULTILINE))[-1]
        source = source[: last_import.end()] + import_line + source[last_import.end() :]
    if include_line not in source:
        source = source.rstrip("\n") + "\n" + include_line
    api.write_text(source)


def format_files(root: Path, paths: list[Path], echo: Callable[[str], None]) -> None:
    """ruff (with the project's settings in `root`) sorts imports and formats; what it still
    reports is shown."""
    targets = [str(path) for path in paths if path.suffix == ".py"]
    steps = (["format"], ["check", "--fix", "--exit-zero"], ["format"], ["check"])
    for arguments in steps:
        result = subprocess.run(  # noqa: S603 - this interpreter's ruff on files we wrote
            [sys.executable, "-m", "ruff", *arguments, "--quiet", "--no-cache", *targets],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            echo(f"ruff {arguments[0]}: {result.stdout or result.stderr}".rstrip())


def _register_permissions(catalogue: Path, spec: EntitySpec) -> None:
    """One import line and the two names in `PERMISSIONS`; running it again changes nothing."""
    source = catalogue.read_text()
    names = [f"{spec.plural.upper()}_READ", f"{spec.plural.upper()}_WRITE"]
    import_line = f"from app.{spec.plural}.permissions import {', '.join(names)}\n"
    if import_line in source:
        return
    last_import = list(re.finditer(r"^from app\..*\n", source, re.MULTILINE))[-1]
    source = source[: last_import.end()] + import_line + source[last_import.end() :]
    listed = "".join(f"    {name},\n" for name in names)
    closing = source.rindex(")")
    catalogue.write_text(source[:closing] + listed + source[closing:])


def _make_migration(root: Path, spec: EntitySpec) -> Path | None:
    """Autogenerates against a scratch SQLite database migrated to the current head."""
    importlib.invalidate_caches()
    versions = root / "src/app/migrations/versions"
    before = set(versions.glob("*.py"))
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{scratch}/head.db")
        config = alembic_config(settings)
        config.set_main_option("script_location", str(root / "src/app/migrations"))
        config.attributes["process_revision_directives"] = _skip_empty
        command.upgrade(config, "head")
        command.revision(config, message=f"add {spec.plural_words}", autogenerate=True)
    created = set(versions.glob("*.py")) - before
    if not created:
        return None
    migration = created.pop()
    _grant_access(migration, spec)
    return migration


def _grant_access(migration: Path, spec: EntitySpec) -> None:
    """The built-in roles that work with the data gain the feature's permissions with its
    table, and lose them again on downgrade: `user` for a user's or everyone's rows, an
    organisation's `admin` and `member` for its rows, whose table also admits, on PostgreSQL,
    only the transaction's organisation (row-level security)."""
    permissions = f'"{spec.plural}:read", "{spec.plural}:write"'
    if spec.org_owned:
        helpers = "grant_in_orgs, isolate_tenant, revoke_in_orgs"
        upgrade = [
            f'isolate_tenant("{spec.plural}")',
            *(f'grant_in_orgs("{role}", {permissions})' for role in ("admin", "member")),
        ]
        downgrade = [f'revoke_in_orgs("{role}", {permissions})' for role in ("admin", "member")]
    else:
        helpers = "grant, revoke"
        upgrade, downgrade = [f'grant("user", {permissions})'], [f'revoke("user", {permissions})']
    source = migration.read_text()
    source = source.replace(
        "from alembic import op\n",
        f"from alembic import op\n\nfrom app.core.migrations import {helpers}\n",
        1,
    )
    added, removed = (
        "".join(f"    {line}\n" for line in upgrade),
        "".join(f"    {line}\n" for line in downgrade),
    )
    source = source.replace(
        "\n\ndef downgrade() -> None:\n", f"{added}\n\ndef downgrade() -> None:\n{removed}", 1
    )
    migration.write_text(source)


def _skip_empty(_context: object, _revision: object, directives: list[Any]) -> None:
    # A re-run with --force finds the table already migrated: no empty revision.
    if directives and directives[0].upgrade_ops.is_empty():
        directives.clear()
