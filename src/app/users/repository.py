from app.core.pagination import PageParams, PageResult
from app.core.repository import Repository
from app.users.filters import UserFilter
from app.users.models import User
from app.users.schemas import UserAdminUpdate, UserCreate


class UserRepository(Repository[User, UserCreate, UserAdminUpdate]):
    model = User
    already_exists_message = "A user with this email already exists"

    async def get_by_email(self, email: str) -> User | None:
        statement = self.select().where(User.email == email)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_filtered(self, filters: UserFilter, params: PageParams) -> PageResult[User]:
        statement = filters.filter(self.select())
        return await self.list_page(statement, params=params, sort=filters.sort_keys())
