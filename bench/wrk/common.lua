-- Shared by every scenario (loaded with dofile): the bearer token, answers counted by status,
-- 503s without Retry-After, and one JSON line of results printed when wrk is done.
-- A scenario sets `path`, `method`, `body`, or defines `next_request()` for a dynamic one, and
-- may define `observe(status, headers, body)` to learn from answers.
local threads = {}
token = os.getenv("BENCH_TOKEN") or ""

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  missing_retry_after = 0
  if prepare then prepare() end
  if next_request == nil then
    local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
    fixed = wrk.format(method or "GET", path, headers, body)
  end
end

function request()
  if next_request then return next_request() end
  return fixed
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 and headers["retry-after"] == nil and headers["Retry-After"] == nil then
    missing_retry_after = missing_retry_after + 1
  end
  if observe then observe(status, headers, body) end
end

function read_lines(name)
  local lines = {}
  for line in io.lines(name) do table.insert(lines, line) end
  return lines
end

function done(summary, latency, _)
  local counts, missing = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
    missing = missing + thread:get("missing_retry_after")
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, '
      .. '"missing_retry_after": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, missing, table.concat(parts, ", ")))
end
