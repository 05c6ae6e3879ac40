-- POST /api/v1/items/bulk with 1000 new rows per request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
method = "POST"
path = "/api/v1/items/bulk"

local rows = {}
for i = 1, 1000 do
  rows[i] = string.format('{"title": "bulk row %d", "description": "bulk upsert benchmark"}', i)
end
body = '{"items": [' .. table.concat(rows, ", ") .. "]}"
