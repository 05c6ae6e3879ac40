-- GET /api/v1/items/{id}: one of the user's items, picked at random.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function prepare()
  ids = read_lines(os.getenv("BENCH_ITEMS"))
  headers = {["Authorization"] = "Bearer " .. token}
end

function next_request()
  return wrk.format("GET", "/api/v1/items/" .. ids[math.random(#ids)], headers)
end
