"""Entity tags from `version`, and `If-Match` (RFC 9110 section 13.1.1)."""

import re
from dataclasses import dataclass

# Only strong tags: `If-Match` uses the strong comparison, so a weak tag (`W/"1"`) never matches.
_STRONG_TAG = re.compile(r'\s*"(\d{1,18})"\s*')


def etag(version: int) -> str:
    return f'"{version}"'


@dataclass(frozen=True)
class IfMatch:
    """A parsed `If-Match`: `*` (any current version) or a set of versions."""

    versions: frozenset[int] = frozenset()
    any_version: bool = False

    def matches(self, version: int) -> bool:
        return self.any_version or version in self.versions


def parse_if_match(header: str | None) -> IfMatch | None:
    """`None` when the header is absent. Tags that are not ours, and weak tags, match nothing
    (then 412)."""
    if header is None:
        return None
    if header.strip() == "*":
        return IfMatch(any_version=True)
    versions = set()
    for part in header.split(","):
        match = _STRONG_TAG.fullmatch(part)
        if match:
            versions.add(int(match.group(1)))
    return IfMatch(versions=frozenset(versions))
