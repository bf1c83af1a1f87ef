-- wrk script: HTTP/1.1 pipelining. Each write carries N GET requests (default 16) and wrk waits
-- for the N responses before writing the next batch; wrk counts every response as one request.
--
--   wrk -c500 -d10s --latency -s benchmarks/wrk/pipeline.lua http://127.0.0.1:8080/ -- 16
--
-- Latency under pipelining is measured per batch by wrk (from the batch's write to each response).

init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format(nil, nil)
  end
  pipelined = table.concat(batch)
end

request = function()
  return pipelined
end
