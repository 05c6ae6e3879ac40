"""Parsing `app new entity` input: names, fields, and every error case."""

import pytest

from app.scaffold.spec import FieldSpec, ScaffoldError, parse_entity, parse_field, pluralize


class TestParseField:
    @pytest.mark.parametrize(
        ("token", "expected"),
        [
            ("title:str", FieldSpec("title", "str", max_length=255)),
            ("title:str:80", FieldSpec("title", "str", max_length=80)),
            ("notes:text?", FieldSpec("notes", "text", optional=True)),
            ("count:int=0", FieldSpec("count", "int", default="0")),
            ("ratio:float?=0.5", FieldSpec("ratio", "float", optional=True, default="0.5")),
            ("price:decimal=12.3400", FieldSpec("price", "decimal", default="12.3400")),
            ("active:bool=false", FieldSpec("active", "bool", default="false")),
            ("due_on:date=2026-01-31", FieldSpec("due_on", "date", default="2026-01-31")),
            ("starts_at:datetime?", FieldSpec("starts_at", "datetime", optional=True)),
            ("ref:uuid", FieldSpec("ref", "uuid")),
            (
                "status:enum(draft|live)=live",
                FieldSpec(
                    "status", "enum", default="live", max_length=5, choices=("draft", "live")
                ),
            ),
        ],
    )
    def test_valid_tokens(self, token: str, expected: FieldSpec) -> None:
        assert parse_field(token) == expected

    @pytest.mark.parametrize(
        ("token", "message"),
        [
            ("title", "expected name:type"),
            ("title:", "expected name:type"),
            ("title:string", "unknown type 'string'"),
            ("title:str:0", "str length"),
            ("Title:str", "lower_snake_case"),
            ("2nd:int", "lower_snake_case"),
            ("id:uuid", "reserved"),
            ("owner_id:uuid", "reserved"),
            ("version:int", "reserved"),
            ("created_at:datetime", "reserved"),
            ("updated_at:datetime", "reserved"),
            ("deleted_at:datetime", "reserved"),
            ("class:str", "shadow"),
            ("type:str", "shadow"),
            ("date:date", "shadow"),
            ("status:enum(a)", "at least two"),
            ("status:enum(a|a)", "distinct"),
            ("status:enum(A|b)", "distinct"),
            ("count:int=many", "not a valid int default"),
            ("count:int=99999999999999999999", "not a valid int default"),
            ("ratio:float=nan", "not a valid float default"),
            ("price:decimal=1.23456", "not a valid decimal default"),
            ("active:bool=yes", "not a valid bool default"),
            ("due_on:date=31/01/2026", "not a valid date default"),
            ("starts_at:datetime=2026-01-01T00:00:00", "not a valid datetime default"),
            ("ref:uuid=nope", "not a valid uuid default"),
            ("status:enum(a|b)=c", "not a valid enum default"),
            ("code:str:3=toolong", "not a valid str default"),
        ],
    )
    def test_invalid_tokens(self, token: str, message: str) -> None:
        with pytest.raises(ScaffoldError, match=message):
            parse_field(token)


class TestParseEntity:
    def test_names_and_plurals(self) -> None:
        spec = parse_entity("orderLine", ["qty:int"])

        assert (spec.name, spec.snake, spec.plural, spec.label) == (
            "OrderLine",
            "order_line",
            "order_lines",
            "Order line",
        )

    @pytest.mark.parametrize(
        ("word", "plural"),
        [
            ("item", "items"),
            ("category", "categories"),
            ("box", "boxes"),
            ("key", "keys"),
            ("match", "matches"),
        ],
    )
    def test_pluralize(self, word: str, plural: str) -> None:
        assert pluralize(word) == plural

    def test_sortable_fields_are_required_and_indexable(self) -> None:
        spec = parse_entity(
            "Widget", ["name:str", "notes:text", "size:int?", "on:bool", "at:datetime"]
        )

        assert spec.sortable == ("created_at", "name", "at", "updated_at")

    @pytest.mark.parametrize(
        ("name", "fields", "options", "message"),
        [
            ("widget-x", ["a:int"], {}, "CamelCase"),
            ("Class", ["a:int"], {}, "keyword or builtin"),
            ("List", ["a:int"], {}, "keyword or builtin"),
            ("Item", ["a:int"], {"existing": {"items"}}, "already exists"),
            ("Core", ["a:int"], {"plural": "core"}, "already exists"),
            ("Widget", [], {}, "at least one --field"),
            ("Widget", ["a:int", "a:str"], {}, "given twice"),
            ("Widget", ["a:int"], {"unique": ["b"]}, "--unique: no such field: b"),
            ("Widget", ["a:int"], {"search": ["a"]}, "only str and text"),
            ("Widget", ["a:bool"], {"unique": ["a"]}, "only str, int and uuid"),
            ("Widget", ["a:int"], {"plural": "Widgets"}, "lower_snake_case"),
        ],
    )
    def test_invalid_entities(
        self, name: str, fields: list[str], options: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ScaffoldError, match=message):
            parse_entity(name, fields, **options)  # type: ignore[arg-type]
