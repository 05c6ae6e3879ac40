"""Audit actions: `<area>.<event>` names, each declared by the feature that records it (as
permissions are), so the log's readers know every action and a typo fails at import."""

import re
from dataclasses import dataclass

NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


@dataclass(frozen=True, slots=True)
class AuditAction:
    name: str
    description: str


_DECLARED: dict[str, AuditAction] = {}


def declare_action(name: str, description: str) -> str:
    """Register an audit action (at import of the feature that records it); its name."""
    if not NAME.fullmatch(name):
        raise ValueError(f"An audit action is <area>.<event> in lower case, not {name!r}")
    action = AuditAction(name, description)
    if _DECLARED.setdefault(name, action) != action:
        raise ValueError(f"Audit action {name!r} is declared twice, differently")
    return name


def declared_actions() -> dict[str, AuditAction]:
    """Every declared action by name, sorted."""
    return dict(sorted(_DECLARED.items()))


def is_declared(name: str) -> bool:
    return name in _DECLARED
