"""Operations endpoints at the root: liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.core.errors import (
    AppError,
    BadRequestError,
    NotFoundError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    UnauthorizedError,
    error_responses,
)
from app.ops.dependencies import HealthServiceDep, MetricsAccess
from app.ops.schemas import Liveness, Readiness
from app.state import app_state

router = APIRouter(
    tags=["operations"],
    responses=error_responses(BadRequestError, PayloadTooLargeError, AppError),
)


@router.get("/health/live", response_model=Liveness)
async def health_live() -> Liveness:
    """The process is up and its event loop answers; touches nothing else."""
    return Liveness()


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses=error_responses(ServiceUnavailableError),
)
async def health_ready(service: HealthServiceDep) -> Readiness:
    """The database (and Redis, when configured) answer: the instance can take traffic."""
    return Readiness(checks=await service.check_ready())


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[MetricsAccess],
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        **error_responses(UnauthorizedError, NotFoundError),
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this instance."""
    return Response(app_state(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
