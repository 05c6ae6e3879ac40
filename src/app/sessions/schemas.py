import uuid
from datetime import datetime

from app.core.schemas import ResponseSchema


class SessionRead(ResponseSchema):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool = False
