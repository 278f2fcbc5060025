-- wrk script for benchmarks/ingest.py: cycles through pre-signed POST /v1/registrations.
--
--   wrk -t2 -c32 -d15s -s registrations.lua http://127.0.0.1:PORT -- requests.tsv 2
--
-- Each line of requests.tsv: X-Timestamp <TAB> X-Signature <TAB> raw JSON body.
-- Thread k of n sends lines k, k+n, k+2n, ... in order; a thread that runs out
-- starts again from its first line and counts a wrap (a wrap means repeated
-- references, i.e. idempotent retries, so ingest.py treats it as a too-small file).
-- done() prints one line, "WRK_RESULT {json}", that ingest.py parses.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  local n = tonumber(args[2])
  requests = {}
  statuses = {}
  wraps = 0
  local i = 0
  for line in io.lines(path) do
    if i % n == id then
      local ts, sig, body = line:match("^(%d+)\t(%x+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/v1/registrations", {
        ["Content-Type"] = "application/json",
        ["X-Partner-Id"] = "demo",
        ["X-Timestamp"] = ts,
        ["X-Signature"] = sig,
      }, body)
    end
    i = i + 1
  end
  if #requests == 0 then
    error("no requests for thread " .. id .. " in " .. path)
  end
  cursor = 0
end

function request()
  cursor = cursor + 1
  if cursor > #requests then
    cursor = 1
    wraps = wraps + 1
  end
  return requests[cursor]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  local total_wraps = 0
  for _, thread in ipairs(threads) do
    total_wraps = total_wraps + thread:get("wraps")
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%d":%d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"wraps":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    total_wraps, table.concat(parts, ",")))
end
