"""Permissions: `<resource>:<action>` strings, each declared by the feature that owns it.

Roles bundle them; a route names the one it needs. `ALL` is the built-in `admin` role's grant:
every permission, including those declared later. Organisation permissions (`org=True`) are
another kind: organisation roles grant them, within one organisation, and platform roles never
do (the `owner` of an organisation holds `ALL` of them there).
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
    # Held within an organisation, through the roles a member holds there.
    org: bool = False


_DECLARED: dict[str, Permission] = {}


def declare(name: str, description: str, *, personal: bool = False, org: bool = False) -> str:
    """Register a permission (at import of the feature that owns it) and return its name."""
    if not NAME.fullmatch(name):
        raise ValueError(f"A permission is <resource>:<action> in lower case, not {name!r}")
    permission = Permission(name, description, personal, org)
    if _DECLARED.setdefault(name, permission) != permission:
        raise ValueError(f"Permission {name!r} is declared twice, differently")
    return name


def declared(*, org: bool = False) -> dict[str, Permission]:
    """Every declared permission of one kind (the platform's, or organisations') by name,
    sorted."""
    return {name: p for name, p in sorted(_DECLARED.items()) if p.org == org}


def undeclared(names: Iterable[str], *, org: bool = False) -> list[str]:
    """Those of `names` that are neither declared (of that kind) nor `ALL`."""
    known = declared(org=org)
    return sorted({name for name in names if name != ALL and name not in known})


def allows(granted: frozenset[str], needed: str) -> bool:
    return needed in granted or ALL in granted


def covers(granted: frozenset[str], wanted: Iterable[str]) -> bool:
    """Whether `granted` includes all of `wanted`: who may hand out a role or a scope."""
    return ALL in granted or all(name in granted for name in wanted)


def document_choices(*, personal: bool, org: bool = False) -> Callable[[dict[str, Any]], None]:
    """A JSON Schema hook listing the declared permissions of a kind (with or without the
    personal ones) as the string's `enum`, read when the OpenAPI document is built: by then
    every feature has declared its own."""

    def add_enum(schema: dict[str, Any]) -> None:
        permissions = declared(org=org).values()
        schema["enum"] = [p.name for p in permissions if personal or not p.personal]

    return add_enum
