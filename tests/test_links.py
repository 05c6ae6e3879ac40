"""Every Markdown file of the repository links only to what a clone of it holds."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import REPO_ROOT

# Inline links and images, `[text](target)`; the target stops at a space (a title may follow).
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.IGNORECASE)


def markdown_files() -> list[Path]:
    """The project's own pages: not those of installed packages or hidden folders."""
    return sorted(
        page
        for page in REPO_ROOT.rglob("*.md")
        if not any(
            part.startswith(".") or part == "node_modules"
            for part in page.relative_to(REPO_ROOT).parts
        )
    )


def local_targets(page: Path) -> list[str]:
    return [target for target in LINK.findall(page.read_text()) if not EXTERNAL.match(target)]


@pytest.mark.parametrize(
    "page", markdown_files(), ids=lambda page: str(page.relative_to(REPO_ROOT))
)
def test_links_stay_inside_the_repository_and_resolve(page: Path) -> None:
    broken = []
    for target in local_targets(page):
        resolved = (page.parent / unquote(target.split("#", 1)[0])).resolve()
        if not resolved.is_relative_to(REPO_ROOT) or not resolved.exists():
            broken.append(target)

    assert broken == [], f"{page.name} links to what a clone does not have"


def test_the_check_sees_links() -> None:
    readme = REPO_ROOT / "README.md"

    assert "docs/auth.md" in local_targets(readme)
    assert all(not EXTERNAL.match(target) for target in local_targets(readme))
