-- GET /api/v1/users/me: authentication alone (token hash -> session + user).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
path = "/api/v1/users/me"
