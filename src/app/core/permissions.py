"""Permissions: `<resource>:<action>` strings, each declared by the feature that owns it.

Roles bundle them; a route names the one it needs. `ALL` is the built-in `admin` role's grant:
every permission, including those declared later.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ALL = "*"
NAME = re.compile(r"[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Permission:
    name: str
    description: str
    # Granted only to people signed in with a password: never through an API key.
    personal: bool = False


_DECLARED: dict[str, Permission] = {}


def declare(name: str, description: str, *, personal: bool = False) -> str:
    """Register a permission (at import of the feature that owns it) and return its name."""
    if not NAME.fullmatch(name):
        raise ValueError(f"A permission is <resource>:<action> in lower case, not {name!r}")
    permission = Permission(name, description, personal)
    if _DECLARED.setdefault(name, permission) != permission:
        raise ValueError(f"Permission {name!r} is declared twice, differently")
    return name


def declared() -> dict[str, Permission]:
    """Every declared permission by name, sorted."""
    return dict(sorted(_DECLARED.items()))


def undeclared(names: Iterable[str]) -> list[str]:
    """Those of `names` that are neither declared nor `ALL`."""
    return sorted({name for name in names if name != ALL and name not in _DECLARED})


def allows(granted: frozenset[str], needed: str) -> bool:
    return needed in granted or ALL in granted


def covers(granted: frozenset[str], wanted: Iterable[str]) -> bool:
    """Whether `granted` includes all of `wanted`: who may hand out a role or a scope."""
    return ALL in granted or all(name in granted for name in wanted)


def document_choices(*, personal: bool) -> Callable[[dict[str, Any]], None]:
    """A JSON Schema hook listing the declared permissions (with or without the personal
    ones) as the string's `enum`, read when the OpenAPI document is built: by then every
    feature has declared its own."""

    def add_enum(schema: dict[str, Any]) -> None:
        schema["enum"] = [p.name for p in declared().values() if personal or not p.personal]

    return add_enum
