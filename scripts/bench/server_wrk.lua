-- wrk script of scripts/bench.d/50-server.sh: POSTs JSON bodies to one path, rotating
-- through a file of bodies (one JSON document per line), and counts responses by status.
--
-- Environment:
--   WRK_PATH    request path, e.g. /retrieve or /v1/tools/search
--   WRK_BODIES  file with one request body per line (1 line = a fixed, cacheable query)
--   WRK_LABEL   free text copied into the summary line
-- At the end it prints one line `WRKJSON {...}`: requests, seconds, requests/s, latency
-- percentiles (ms, over every response whatever its status), socket errors and the
-- per-status counts summed over all threads.

local threads = {}
local reqs = {}
local idx = 0

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("WRK_PATH") or "/"
  local file = os.getenv("WRK_BODIES")
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(file) do
    if #line > 0 then
      reqs[#reqs + 1] = wrk.format("POST", path, headers, line)
    end
  end
  assert(#reqs > 0, "no bodies in " .. tostring(file))
  -- Threads start at different places in the rotation.
  idx = ((thread_no or 0) * 7919) % #reqs
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function response(status, headers, body)
  local key = "status_" .. status
  _G[key] = (_G[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code = 100, 599 do
      local n = thread:get("status_" .. code)
      if n then
        counts[code] = (counts[code] or 0) + n
      end
    end
  end
  local parts = {}
  for code = 100, 599 do
    if counts[code] then
      parts[#parts + 1] = string.format('"%d": %d', code, counts[code])
    end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"label": "%s", "requests": %d, "seconds": %.3f, "rps": %.2f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, ' ..
    '"statuses": {%s}}\n',
    os.getenv("WRK_LABEL") or "", summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ", ")))
end
