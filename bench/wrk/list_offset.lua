-- GET /api/v1/items?limit=N (BENCH_LIMIT, 20 by default): the first page in offset mode, with
-- the total.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
path = "/api/v1/items?limit=" .. (os.getenv("BENCH_LIMIT") or "20")
