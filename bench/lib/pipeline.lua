-- wrk script for the pipelining scenario: every write carries DEPTH GET
-- requests back to back (DEPTH from BENCH_PIPELINE_DEPTH, default 16).
-- wrk parses and counts each response, so its requests/s are responses/s.
-- Its latency figures are per batch and not meaningful here.

local depth = tonumber(os.getenv("BENCH_PIPELINE_DEPTH") or "") or 16
local batch

function init(args)
  local one = wrk.format("GET", "/")
  local parts = {}
  for i = 1, depth do
    parts[i] = one
  end
  batch = table.concat(parts)
end

function request()
  return batch
end
