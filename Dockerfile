# syntax=docker/dockerfile:1
# The API as a production image: `docker compose up --build` (see compose.yaml and README).

# Python 3.11: the oldest version the project supports, the one every CI run tests on both
# databases (3.13 is tested too), and Debian bookworm's own Python, so the image matches what
# the tests ran. Change both FROM lines together.
# Build stage: the locked dependencies first (a layer that survives code changes), then the
# project itself, installed non-editable into /app/.venv.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/
# Behind a TLS-inspecting proxy, the package downloads must trust its CA: pass a bundle that
# holds it as the build secret `ca` and `--build-arg SSL_CERT_FILE=/run/secrets/ca` (README,
# "Docker"). It is mounted for the `uv sync` steps only, never stored in a layer.
ARG SSL_CERT_FILE
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca \
    uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca \
    uv sync --frozen --no-dev --no-editable

# Runtime stage: the virtual environment only (no uv, no compilers, no sources), run by an
# unprivileged user. `app serve` applies pending migrations before it listens.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app app \
    && mkdir -p /app/data && chown app:app /app/data
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    LOG_FORMAT=json
WORKDIR /app
USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/health/ready', timeout=4)"]
CMD ["app", "serve", "--host", "0.0.0.0", "--port", "8000"]
