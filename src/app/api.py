"""The `/api/v1` router: one `include_router` line per feature."""

from fastapi import APIRouter

from app.auth.router import router as auth_router
from app.core.errors import COMMON_ERROR_RESPONSES
from app.items.router import router as items_router
from app.sessions.router import router as sessions_router
from app.users.router import router as users_router

api_router = APIRouter(prefix="/api/v1", responses=COMMON_ERROR_RESPONSES)
api_router.include_router(auth_router)
api_router.include_router(sessions_router)
api_router.include_router(users_router)
api_router.include_router(items_router)
