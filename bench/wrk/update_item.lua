-- PATCH /api/v1/items/{id} with If-Match. Each wrk thread owns its own slice of the items and
-- walks it round robin; the slice is far larger than the thread's connections, so an item's
-- previous PATCH has been answered before the next one is sent. Each answer's ETag becomes the
-- item's next If-Match: every answer should be a 200 (a 412 would show up as an error).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function prepare()
  local all, threads = read_lines(os.getenv("BENCH_ITEMS")), tonumber(os.getenv("BENCH_THREADS"))
  ids, etags, position = {}, {}, 0
  for i = index + 1, #all, threads do
    table.insert(ids, all[i])
    etags[all[i]] = '"1"'
  end
  headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

-- wrk calls request() once before the run to inspect it, so it must not change any state.
function next_request()
  position = position % #ids + 1
  local id = ids[position]
  headers["If-Match"] = etags[id]
  return wrk.format("PATCH", "/api/v1/items/" .. id, headers, '{"title": "patched"}')
end

function observe(status, headers, body)
  if status == 200 then
    local id = body:match('"id":%s*"([^"]+)"')
    etags[id] = headers["etag"] or headers["ETag"]
  end
end
