-- GET /api/v1/items?limit=N&cursor=... (BENCH_LIMIT, 20 by default): the page after the first
-- 20 rows in keyset mode (the cursor each app gave for its own first page).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
path = "/api/v1/items?limit=" .. (os.getenv("BENCH_LIMIT") or "20") .. "&cursor="
  .. (os.getenv("BENCH_CURSOR") or "")
