-- loadtest.lua - wrk script: POSTs one X-ray as multipart/form-data to the
-- CGI (JSON answer) and prints a machine-readable summary at the end.
-- Environment: LOADTEST_IMAGE (the X-ray file).
local path = os.getenv("LOADTEST_IMAGE")
local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
local image = f:read("*a")
f:close()

local boundary = "wrkloadtestboundary7f3a"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.headers["Accept"] = "application/json"
wrk.body = "--" .. boundary .. "\r\n" ..
    "Content-Disposition: form-data; name=\"xray\"; filename=\"xray.jpeg\"\r\n" ..
    "Content-Type: image/jpeg\r\n\r\n" .. image .. "\r\n--" .. boundary .. "--\r\n"

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.2f errors_connect=%d errors_read=%d " ..
        "errors_write=%d errors_status=%d errors_timeout=%d mean_ms=%.2f " ..
        "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
        summary.requests, summary.duration / 1e6, e.connect, e.read, e.write,
        e.status, e.timeout, latency.mean / 1e3, latency:percentile(50) / 1e3,
        latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
        latency.max / 1e3))
end
