"""What the generated OpenAPI document cannot infer from the type hints alone."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.core.errors import AppError, EmailNotVerifiedError
from app.core.permissions import declared
from app.core.schemas import ErrorBody

# Strings are refused when they hold U+0000 (see `app.core.schemas.refuse_nul`).
NO_NUL_PATTERN = "^[^\\u0000]*$"
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMAS = ("items", "additionalProperties", "not")


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` as FastAPI builds it, plus the input rules, computed once."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document_nul_refusal(document)
            document_permissions(document)
        return app.openapi_schema  # type: ignore[return-value]  # set by generate()

    app.openapi = openapi  # type: ignore[method-assign]


def document_permissions(document: dict[str, Any]) -> None:
    """Every permission as an OAuth2 scope of the bearer scheme, and on each operation a line
    naming the permission its security requirement lists; such an operation may also answer
    403 `EMAIL_NOT_VERIFIED` (under `REQUIRE_VERIFIED_EMAIL`)."""
    org = declared(org=True)
    scopes = {name: permission.description for name, permission in declared().items()}
    scopes |= {name: f"In an organisation: {p.description}" for name, p in org.items()}
    for scheme in document.get("components", {}).get("securitySchemes", {}).values():
        for flow in scheme.get("flows", {}).values():
            flow["scopes"] = scopes
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            needed = sorted(
                {
                    scope
                    for requirement in operation.get("security", ())
                    for scheme_scopes in requirement.values()
                    for scope in scheme_scopes
                }
            )
            if needed:
                kind = "organisation permission" if needed[0] in org else "permission"
                line = f"Requires the {kind} {', '.join(f'`{name}`' for name in needed)}."
                operation["description"] = f"{operation.get('description', '')}\n\n{line}".strip()
                _add_error_code(operation, EmailNotVerifiedError)


def _add_error_code(operation: dict[str, Any], error: type[AppError]) -> None:
    status = str(error.status_code)
    responses = operation.setdefault("responses", {})
    if status not in responses:
        envelope = {"schema": {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}}
        responses[status] = {
            "description": error.error_code,
            "content": {"application/json": envelope},
        }
        return
    codes = responses[status].get("description", "")
    if error.error_code not in codes.split(", "):
        responses[status]["description"] = (
            f"{codes}, {error.error_code}" if codes else error.error_code
        )


def document_nul_refusal(document: dict[str, Any]) -> None:
    """Add `NO_NUL_PATTERN` to every free-form string a client sends (parameters and request
    bodies, following references), so the schema admits only what the API accepts."""
    components = document.get("components", {}).get("schemas", {})
    visited: set[str] = set()

    def walk(schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        if (reference := schema.get("$ref", "")).startswith("#/components/schemas/"):
            name = reference.rsplit("/", 1)[1]
            if name not in visited:
                visited.add(name)
                walk(components.get(name))
            return
        if schema.get("type") == "string" and not schema.keys() & {"format", "enum", "pattern"}:
            schema["pattern"] = NO_NUL_PATTERN
        for key in _SUBSCHEMA_LISTS:
            for subschema in schema.get(key, ()):
                walk(subschema)
        for key in _SUBSCHEMAS:
            walk(schema.get(key))
        for subschema in schema.get("properties", {}).values():
            walk(subschema)

    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                walk(parameter.get("schema"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                walk(media.get("schema"))
