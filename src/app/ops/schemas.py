from pydantic import BaseModel


class Liveness(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str = "ok"
    checks: dict[str, str]
