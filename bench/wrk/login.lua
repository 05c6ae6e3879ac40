-- POST /api/v1/auth/login with the benchmark user's credentials (production Argon2 cost).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
method = "POST"
path = "/api/v1/auth/login"
body = string.format('{"email": "%s", "password": "%s"}',
  os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))
