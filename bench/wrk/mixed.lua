-- A mix for the soak test, in turn: GET /users/me, GET /items/{id}, a list page, POST /items.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function prepare()
  ids = read_lines(os.getenv("BENCH_ITEMS"))
  headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  turn = 0
end

function next_request()
  turn = turn % 4 + 1
  if turn == 1 then return wrk.format("GET", "/api/v1/users/me", headers) end
  if turn == 2 then return wrk.format("GET", "/api/v1/items/" .. ids[math.random(#ids)], headers) end
  if turn == 3 then return wrk.format("GET", "/api/v1/items?limit=20", headers) end
  return wrk.format("POST", "/api/v1/items", headers, '{"title": "soak item"}')
end
