-- GET /api/v1/items?limit=20&cursor=...: the second page in keyset mode (the cursor each app
-- gave for its own first page).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
path = "/api/v1/items?limit=20&cursor=" .. (os.getenv("BENCH_CURSOR") or "")
