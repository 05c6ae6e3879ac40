"""Renders the feature templates for an `EntitySpec` (Jinja2, templates in this package)."""

import json
from collections.abc import Iterable

from jinja2 import Environment, PackageLoader, StrictUndefined

from app.scaffold.spec import DECIMAL_DIGITS, DECIMAL_PLACES, TEXT_MAX_LENGTH, EntitySpec

FEATURE_FILES = (
    "models.py",
    "schemas.py",
    "filters.py",
    "entity.py",
    "repository.py",
    "service.py",
    "dependencies.py",
    "permissions.py",
    "router.py",
)
TEST_FILES = ("test_router.py",)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _pyrepr(value: object) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _pytuple(values: Iterable[str]) -> str:
    items = [json.dumps(value) for value in values]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _pylist(values: Iterable[str]) -> str:
    return f"[{', '.join(json.dumps(value) for value in values)}]"


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("app.scaffold", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - renders Python source, not HTML
    )
    environment.filters.update(
        pascal=_pascal,
        pyrepr=_pyrepr,
        pytuple=_pytuple,
        pylist=_pylist,
        underscored=lambda number: f"{number:_}",
        fromrepr=lambda text: json.loads(text) if text.startswith('"') else text,
    )
    environment.globals.update(
        digits=DECIMAL_DIGITS, places=DECIMAL_PLACES, text_max=TEXT_MAX_LENGTH
    )
    return environment


def _context(spec: EntitySpec) -> dict[str, object]:
    kinds = spec.kinds
    filtered = kinds & {"bool", "enum", "int", "float", "decimal", "date", "datetime"}
    enum_names = [f"{spec.name}{_pascal(f.name)}" for f in spec.fields if f.kind == "enum"]
    sqlalchemy_names = ["Index"] if any(f.unique for f in spec.fields) else []
    for kind, name in (
        ("str", "String"),
        ("text", "Text"),
        ("int", "BigInteger"),
        ("float", "Double"),
        ("decimal", "Numeric"),
        ("enum", "Enum"),
    ):
        if kind in kinds:
            sqlalchemy_names.append(name)
    if spec.tenant_column:
        sqlalchemy_names.append("ForeignKey")
    pydantic_names = ["Field"] if kinds & {"int", "float", "decimal"} else []
    if kinds & {"str", "text"}:
        pydantic_names.append("StringConstraints")
    if "bool" in kinds:
        pydantic_names.append("StrictBool")
    return {
        "e": spec,
        "kinds": kinds,
        "aliased": bool(kinds & {"str", "text", "int", "float", "decimal"}),
        "filter_kinds": filtered,
        "enum_names": enum_names,
        "order_terms": [term for name in spec.sortable for term in (name, f"-{name}")],
        "datetime_names": [name for name in ("date", "datetime") if name in kinds],
        "sqlalchemy_names": sorted(sqlalchemy_names, key=str.lower),
        "pydantic_names": sorted(pydantic_names, key=str.lower),
        "core_schema_names": ["PatchSchema", "RequestSchema", "ResponseSchema"]
        + (["UTCDatetime"] if "datetime" in kinds else []),
    }


def render(spec: EntitySpec) -> dict[str, str]:
    """Relative path → source, for the feature package and its tests (not yet formatted)."""
    environment = _environment()
    context = _context(spec)
    files = {f"src/app/{spec.plural}/__init__.py": "", f"tests/{spec.plural}/__init__.py": ""}
    for name in FEATURE_FILES:
        template = environment.get_template(f"feature/{name}.jinja")
        files[f"src/app/{spec.plural}/{name}"] = template.render(context)
    for name in TEST_FILES:
        template = environment.get_template(f"tests/{name}.jinja")
        files[f"tests/{spec.plural}/{name}"] = template.render(context)
    return files
