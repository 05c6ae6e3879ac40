"""The `/api/v1` router: one `include_router` line per feature."""

from fastapi import APIRouter

from app.core.errors import COMMON_ERROR_RESPONSES

api_router = APIRouter(prefix="/api/v1", responses=COMMON_ERROR_RESPONSES)
