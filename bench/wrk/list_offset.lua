-- GET /api/v1/items?limit=20: the first page in offset mode, with the total.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
path = "/api/v1/items?limit=20"
