-- POST /api/v1/items: one new item per request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
method = "POST"
path = "/api/v1/items"
body = '{"title": "benchmark item", "description": "created under load"}'
