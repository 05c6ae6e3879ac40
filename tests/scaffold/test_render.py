"""The templates render a whole feature; whether it works is `test_end_to_end.py`'s question
(items is a feature of its own, free to carry rules the templates do not)."""

import shutil
from pathlib import Path

import pytest

from app.core.entity import Tenancy
from app.scaffold.render import FEATURE_FILES, render
from app.scaffold.spec import parse_entity
from app.scaffold.writer import format_files
from tests.conftest import REPO_ROOT

# Items described the way `app new entity` would be asked for it.
ITEMS_SPEC = parse_entity(
    "Item",
    ["title:str:200", "description:text?", "is_active:bool=true"],
    search=["title", "description"],
)


@pytest.fixture(scope="module")
def rendered_items(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("render")
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    paths = []
    for name, text in render(ITEMS_SPEC).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    problems: list[str] = []
    format_files(root, paths, problems.append)
    assert problems == []
    return root


# What each rendered file must define; the generic behaviour comes from core's bases.
DEFINES = {
    "models.py": "class Item(Base,",
    "schemas.py": "class ItemRead(ResponseSchema):",
    "filters.py": "class ItemFilter(OwnedFilter):",
    "entity.py": "ITEMS = Entity(",
    "repository.py": "(EntityRepository[Item, ItemCreate, ItemUpdate, ItemRead]):",
    "service.py": "class ItemService(EntityService[Item, ItemCreate, ItemUpdate, ItemRead]):",
    "dependencies.py": "get_item_service = service_dependency(build_item_service)",
    "permissions.py": 'ITEMS_READ = declare("items:read", "Read your items")',
    "router.py": 'router = APIRouter(\n    prefix="/items"',
}


class TestRender:
    @pytest.mark.parametrize("name", FEATURE_FILES)
    def test_every_feature_file_defines_its_part(self, rendered_items: Path, name: str) -> None:
        text = (rendered_items / "src/app/items" / name).read_text()

        compile(text, name, "exec")
        assert DEFINES[name] in text

    def test_generated_tests_render(self, rendered_items: Path) -> None:
        text = (rendered_items / "tests/items/test_router.py").read_text()

        assert "class TestItemContract(EntityContract):" in text
        assert 'filter_case = ("is_active", "true", True, False)' in text


# Projects are what `app new entity` writes for an organisation's entity, and stay so.
PROJECTS_SPEC = parse_entity(
    "Project",
    ["name:str:200", "description:text?"],
    tenant=Tenancy.ORG,
    search=["name", "description"],
)


def test_projects_are_what_the_generator_writes(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    files = render(PROJECTS_SPEC)
    # The packages that make `app` and `tests` first-party to ruff's import sorting.
    for package in ("src/app/__init__.py", "tests/__init__.py"):
        (tmp_path / package).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / package).touch()
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    problems: list[str] = []
    format_files(tmp_path, [tmp_path / name for name in files], problems.append)

    assert problems == []
    for name in files:
        assert (tmp_path / name).read_text() == (REPO_ROOT / name).read_text(), name
