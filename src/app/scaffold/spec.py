"""What `app new entity` is asked to build: names and fields, parsed and checked."""

import builtins
import keyword
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from uuid import UUID

from app.core.entity import Tenancy

RESERVED_FIELDS = frozenset(
    {
        "id",
        "owner_id",
        "owner",
        "org_id",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
        "is_deleted",
    }
)
# Names the generated modules use for types or that SQLAlchemy and Pydantic keep for themselves.
TAKEN_NAMES = frozenset(
    {"date", "datetime", "decimal", "uuid", "enum", "annotated", "field", "metadata", "registry"}
)
# Packages of the project that are not features generated here.
PROJECT_MODULES = frozenset({"core", "api", "main", "cli", "migrations", "scaffold", "seed"})
STR_DEFAULT_LENGTH = 255
STR_MAX_LENGTH = 10_000
TEXT_MAX_LENGTH = 10_000
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
DECIMAL_DIGITS, DECIMAL_PLACES = 18, 4

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_ENTITY = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_ENUM = re.compile(r"^enum\((?P<values>[^()]*)\)$")
_STR = re.compile(r"^str(?::(?P<length>\d+))?$")
TYPES = (
    "str[:max_len]",
    "text",
    "int",
    "float",
    "decimal",
    "bool",
    "date",
    "datetime",
    "uuid",
    "enum(a|b|c)",
)


class ScaffoldError(ValueError):
    """Input `app new entity` cannot build from; the message says what to change."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # str text int float decimal bool date datetime uuid enum
    optional: bool = False
    default: str | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    unique: bool = False
    searchable: bool = False

    @property
    def sortable(self) -> bool:
        """Keyset paging needs non-null keys; long text makes a poor index."""
        return not self.optional and self.kind not in {"text", "bool", "uuid"}

    @property
    def has_default(self) -> bool:
        return self.default is not None or self.optional


@dataclass(frozen=True)
class EntitySpec:
    name: str  # Widget
    plural: str  # widgets
    fields: tuple[FieldSpec, ...]
    tenant: Tenancy = Tenancy.USER

    @property
    def owned(self) -> bool:
        """Each row is the user's who created it."""
        return self.tenant is Tenancy.USER

    @property
    def org_owned(self) -> bool:
        """Each row is an organisation's, reached under `/orgs/{org_id}/…`."""
        return self.tenant is Tenancy.ORG

    @property
    def tenant_column(self) -> str | None:
        return self.tenant.column

    @property
    def snake(self) -> str:
        return _snake(self.name)

    @property
    def label(self) -> str:
        """`Widget` for messages ("Widget not found")."""
        return _snake(self.name).replace("_", " ").capitalize()

    @property
    def article(self) -> str:
        return "an" if self.label[0].lower() in "aeiou" else "a"

    @property
    def plural_words(self) -> str:
        """`order lines` for sentences."""
        return self.plural.replace("_", " ")

    @property
    def plural_label(self) -> str:
        return self.plural_words.capitalize()

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(f.kind for f in self.fields)

    @property
    def sortable(self) -> tuple[str, ...]:
        return ("created_at", *(f.name for f in self.fields if f.sortable), "updated_at")

    @property
    def search_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.searchable)


def parse_field(token: str) -> FieldSpec:
    """`name:type[?][=default]`, e.g. `title:str:200`, `notes:text?`, `status:enum(a|b)=a`."""
    name, separator, type_spec = token.partition(":")
    if not separator or not type_spec:
        raise ScaffoldError(f"field '{token}': expected name:type, e.g. title:str:200")
    check_field_name(name)
    type_spec, has_default, default = type_spec.partition("=")
    optional = type_spec.endswith("?")
    kind, max_length, choices = _parse_type(name, type_spec.removesuffix("?"))
    spec = FieldSpec(
        name=name,
        kind=kind,
        optional=optional,
        default=default if has_default else None,
        max_length=max_length,
        choices=choices,
    )
    if has_default:
        check_default(spec)
    return spec


def check_field_name(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise ScaffoldError(f"field '{name}': use lower_snake_case letters, digits and _")
    if name in RESERVED_FIELDS:
        raise ScaffoldError(f"field '{name}' is reserved: every entity has it already")
    if keyword.iskeyword(name) or name in dir(builtins) or name in TAKEN_NAMES:
        raise ScaffoldError(
            f"field '{name}' would shadow a Python name; pick another (e.g. '{name}_value')"
        )


def _parse_type(name: str, type_spec: str) -> tuple[str, int | None, tuple[str, ...]]:
    if match := _STR.match(type_spec):
        length = int(match.group("length") or STR_DEFAULT_LENGTH)
        if not 1 <= length <= STR_MAX_LENGTH:
            raise ScaffoldError(f"field '{name}': str length must be 1 to {STR_MAX_LENGTH}")
        return "str", length, ()
    if match := _ENUM.match(type_spec):
        choices = tuple(value.strip() for value in match.group("values").split("|"))
        if not all(_IDENTIFIER.match(value) for value in choices) or len(set(choices)) != len(
            choices
        ):
            raise ScaffoldError(
                f"field '{name}': enum values must be distinct lower_snake_case words"
            )
        if len(choices) < 2:
            raise ScaffoldError(f"field '{name}': an enum needs at least two values")
        return "enum", max(len(value) for value in choices), choices
    if type_spec in {"text", "int", "float", "decimal", "bool", "date", "datetime", "uuid"}:
        return type_spec, None, ()
    raise ScaffoldError(f"field '{name}': unknown type '{type_spec}'; known: {', '.join(TYPES)}")


def check_default(spec: FieldSpec) -> None:
    """The default must be a valid value of the field's type, within its limits."""
    value = spec.default or ""
    valid: dict[str, object] = {
        "int": lambda: INT_MIN <= int(value) <= INT_MAX,
        "float": lambda: float(value) == float(value) and abs(float(value)) != float("inf"),
        "decimal": lambda: _decimal_fits(Decimal(value)),
        "bool": lambda: value in {"true", "false"},
        "date": lambda: bool(date.fromisoformat(value)),
        "datetime": lambda: datetime.fromisoformat(value).tzinfo is not None,
        "uuid": lambda: bool(UUID(value)),
        "enum": lambda: value in spec.choices,
        "str": lambda: 0 < len(value) <= (spec.max_length or 0),
        "text": lambda: len(value) <= TEXT_MAX_LENGTH,
    }
    try:
        ok = valid[spec.kind]()  # type: ignore[operator]
    except (ValueError, InvalidOperation):
        ok = False
    if not ok:
        raise ScaffoldError(f"field '{spec.name}': '{value}' is not a valid {spec.kind} default")


def _decimal_fits(value: Decimal) -> bool:
    if not value.is_finite():
        return False
    digits = value.as_tuple()
    exponent = int(digits.exponent)
    places = max(0, -exponent)
    return (
        places <= DECIMAL_PLACES and len(digits.digits) - places <= DECIMAL_DIGITS - DECIMAL_PLACES
    )


def parse_entity(
    name: str,
    field_tokens: list[str],
    *,
    tenant: Tenancy = Tenancy.USER,
    unique: list[str] | None = None,
    search: list[str] | None = None,
    plural: str | None = None,
    existing: set[str] | None = None,
) -> EntitySpec:
    if not _ENTITY.match(name):
        raise ScaffoldError(f"entity '{name}': use a CamelCase name such as Widget")
    entity = name[0].upper() + name[1:]
    snake = _snake(entity)
    plural = plural or pluralize(snake)
    for word in (snake, plural):
        if keyword.iskeyword(word) or word in dir(builtins):
            raise ScaffoldError(f"entity '{name}': '{word}' is a Python keyword or builtin")
    if not _IDENTIFIER.match(plural):
        raise ScaffoldError(f"plural '{plural}': use lower_snake_case")
    if plural in PROJECT_MODULES or plural in (existing or set()):
        raise ScaffoldError(f"entity '{name}': app.{plural} already exists")
    fields = [parse_field(token) for token in field_tokens]
    if not fields:
        raise ScaffoldError("give at least one --field")
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ScaffoldError("a field name is given twice")
    for option, chosen in (("--unique", unique or []), ("--search", search or [])):
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            raise ScaffoldError(f"{option}: no such field: {', '.join(unknown)}")
    for unique_name in unique or []:
        if next(f for f in fields if f.name == unique_name).kind not in {"str", "int", "uuid"}:
            raise ScaffoldError(
                f"--unique {unique_name}: only str, int and uuid fields can be unique"
            )
    for searched in search or []:
        if next(f for f in fields if f.name == searched).kind not in {"str", "text"}:
            raise ScaffoldError(f"--search {searched}: only str and text fields can be searched")
    fields = [
        FieldSpec(
            **{
                **f.__dict__,
                "unique": f.name in (unique or []),
                "searchable": f.name in (search or []),
            }
        )
        for f in fields
    ]
    return EntitySpec(name=entity, plural=plural, fields=tuple(fields), tenant=tenant)


def pluralize(word: str) -> str:
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
