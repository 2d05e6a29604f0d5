-- wrk -s spend.lua: POST /v1/accounts/<a random funded account>/spend {"amount":1}, each with an
-- Idempotency-Key of its own. Reads WRK_ACCOUNTS (a file of account ids, one a line), WRK_KEY (a
-- service key) and WRK_RUN (unique per run: keys are <run>-<thread>-<counter>). Prints the result
-- line bench/wrk.ts reads.
local nextThread = 0
local accounts = {}
local counter = 0
local prefix

function setup(thread)
  nextThread = nextThread + 1
  thread:set("threadNo", nextThread)
end

function init(args)
  for line in io.lines(os.getenv("WRK_ACCOUNTS")) do
    if line ~= "" then accounts[#accounts + 1] = line end
  end
  math.randomseed(os.time() * 1000 + threadNo)
  prefix = os.getenv("WRK_RUN") .. "-" .. threadNo .. "-"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_KEY")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. counter
  return wrk.format("POST", "/v1/accounts/" .. accounts[math.random(#accounts)] .. "/spend", nil, '{"amount":1}')
end

function done(summary, latency, requests)
  local e = summary.errors
  local parts = {}
  for i = 1, #latency do
    local us, count = latency(i)
    parts[#parts + 1] = string.format("[%d,%d]", us, count)
  end
  io.write(string.format('TALLY_WRK_RESULT {"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency":[%s]}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ",")))
end
