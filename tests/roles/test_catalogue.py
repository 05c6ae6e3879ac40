"""`app.permissions` lists every permission the features declare (the platform's and
organisations'), so that code outside the API (the CLI) knows them all without importing the
routes."""

from fastapi import FastAPI

from app.core.permissions import declared
from app.permissions import PERMISSIONS


def test_every_declared_permission_is_listed(app: FastAPI) -> None:
    assert app.openapi()["paths"]
    assert sorted(PERMISSIONS) == sorted([*declared(), *declared(org=True)])
    assert len(set(PERMISSIONS)) == len(PERMISSIONS)
