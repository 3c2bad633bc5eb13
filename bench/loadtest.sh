#!/bin/bash
# loadtest.sh - `make loadtest`: nginx + fcgiwrap (4 CGI workers, 1 thread
# each) on a loopback port, wrk with 4 connections for 60 s POSTing a real
# X-ray to the CGI (JSON answer: the forward pass without Grad-CAM), then
# requests/s, latency percentiles, failed requests, and the ratio of the
# mean request latency to a bare forward pass measured by ./infer (same
# model, same image, 1 thread) in the same run.
#
#   MODEL=weights/pneumonia.safetensors  (a random InceptionV3 at 299x299 is
#                                         made when the file does not exist)
#   LOADTEST_SECONDS=60 LOADTEST_CONNECTIONS=4
#   LOADTEST_IMAGE=test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
BUILD=${BUILD:-build/opt}
MODEL=${MODEL:-weights/pneumonia.safetensors}
SECONDS_=${LOADTEST_SECONDS:-60}
CONNS=${LOADTEST_CONNECTIONS:-4}
export LOADTEST_IMAGE=${LOADTEST_IMAGE:-test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg}
out=build/loadtest
mkdir -p "$out"
command -v wrk >/dev/null || { echo "loadtest: wrk missing (scripts/install-deps.sh)" >&2; exit 1; }

if [ ! -f "$MODEL" ]; then
    echo "loadtest: no model at $MODEL; using a random InceptionV3 at 299x299" \
        "(same cost as a trained one)"
    make -s "$BUILD/tools/make_model"
    MODEL=$out/random.safetensors
    "$BUILD/tools/make_model" --arch inception_v3 --input-size 299 --out "$MODEL" >/dev/null
fi

# Copies of the programs: a rebuild in the working tree during the run
# (make relinks them) must not disturb it.
cp cgi-bin/predict "$out/predict"
cp infer "$out/infer"
INFER="$out/infer"
trap 'serve/run.sh stop --dir "$out/serve"' EXIT
trap 'exit 130' INT TERM # so that the EXIT trap cleans up
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
serve/run.sh start --port "$PORT" --dir "$out/serve" --model "$MODEL" \
    --threads 1 --workers "$CONNS" --cgi "$out/predict"
URL="http://127.0.0.1:$PORT/cgi-bin/predict"

# Bare forward pass: ./infer, 1 thread, median of 7 model calls; alone, and
# with CONNS copies at once (the CPU sharing the requests see).
forward() { # copies
    for _ in $(seq "$1"); do
        "$INFER" --model "$MODEL" --threads 1 --repeat 7 --json "$LOADTEST_IMAGE" &
    done | python3 -c 'import json,sys
v = [json.loads(l)["forward_ms"] for l in sys.stdin]
print("%.2f" % (sum(v) / len(v)))'
}
forward_ms=$(forward 1)
forward_shared=$(forward "$CONNS")
# One request by hand first: it must succeed.
curl -fsS -o /dev/null -F "xray=@$LOADTEST_IMAGE" "$URL?format=json"

echo "loadtest: $CONNS connections, ${SECONDS_}s, $(nproc) cores, model $MODEL"
wrk -t 2 -c "$CONNS" -d "${SECONDS_}s" --timeout 60s --latency \
    -s bench/loadtest.lua "$URL" | tee "$out/wrk.txt"
# Bare forward pass again after the run (the machine may be shared).
forward_after=$(forward 1)
shared_after=$(forward "$CONNS")

python3 - "$out/wrk.txt" "$forward_ms" "$forward_after" "$CONNS" "$(nproc)" \
    "$forward_shared" "$shared_after" <<'PY' | tee "$out/summary.txt"
import re, sys
text = open(sys.argv[1]).read()
r = dict(re.findall(r"(\w+)=([0-9.]+)", text.split("RESULT", 1)[1]))
fwd = (float(sys.argv[2]) + float(sys.argv[3])) / 2
conns, cores = int(sys.argv[4]), int(sys.argv[5])
# errors_status counts the non-2xx/3xx answers.
failed = sum(int(r[k]) for k in r if k.startswith("errors_"))
rps = float(r["requests"]) / float(r["seconds"])
mean = float(r["mean_ms"])
print("requests %s in %.0f s: %.2f requests/s, %d failed" % (r["requests"], float(r["seconds"]), rps, failed))
print("latency ms: mean %.1f, p50 %.1f, p90 %.1f, p99 %.1f, max %.1f" %
      (mean, float(r["p50_ms"]), float(r["p90_ms"]), float(r["p99_ms"]), float(r["max_ms"])))
print("bare forward pass (./infer, 1 thread): %.1f ms (before %s, after %s)" % (fwd, sys.argv[2], sys.argv[3]))
print("mean latency / forward pass: %.2f" % (mean / fwd))
# With more connections than cores, requests share the CPU: compare with
# the same forward pass run by `conns` processes at once.
shared = (float(sys.argv[6]) + float(sys.argv[7])) / 2
print("forward pass with %d ./infer at once on %d cores: %.1f ms (before %s, after %s)" %
      (conns, cores, shared, sys.argv[6], sys.argv[7]))
print("mean latency / forward pass at the same concurrency: %.2f" % (mean / shared))
sys.exit(1 if failed else 0)
PY
