#!/bin/bash
# balancer_test.sh - serve/nginx-balancer.conf.in on loopback: two backends
# (serve/run.sh: nginx + fcgiwrap + the CGI, on two free ports) behind the
# balancer (serve/balance.sh):
#   1. uploads through the balancer get the backends' answer (200, the
#      verdict ./infer gives), and both backends serve some of them;
#   2. with one backend stopped, every upload still succeeds (the balancer
#      moves it to the other one), and the stopped one is logged as down.
# Uses a random model with a small input (tools/make_model), as web_test.sh.
# Run from the repository root; BUILD selects the build (build/opt, build/san).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
BUILD=${BUILD:-build/opt}
JPEG=test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg

for tool in nginx fcgiwrap curl; do
    command -v "$tool" >/dev/null || {
        echo "balancer_test: $tool missing (scripts/install-deps.sh installs it)" >&2
        exit 1
    }
done
tmp=$(mktemp -d /tmp/balancer_test.XXXXXX)
cleanup() {
    serve/balance.sh stop --dir "$tmp/front" || true
    serve/run.sh stop --dir "$tmp/a" || true
    serve/run.sh stop --dir "$tmp/b" || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BUILD/tools/make_model" --arch inception_v3 --input-size 75 \
    --out "$tmp/random.safetensors" > /dev/null
model=$tmp/model.safetensors
"$BUILD/bin/trainer" fit-gate --model-file "$tmp/random.safetensors" --out "$model" \
    --data test/fixtures/train/chest_xray_tiny --val-fraction 0.2 --threads 1 > /dev/null 2>&1
want=$("$BUILD/bin/infer" --model "$model" --threads 1 --json "$JPEG" \
       | python3 -c 'import json, sys; print(json.load(sys.stdin)["verdict"])')

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_a=$(free_port)
port_b=$(free_port)
while [ "$port_b" = "$port_a" ]; do port_b=$(free_port); done
for backend in a:$port_a b:$port_b; do
    serve/run.sh start --port "${backend#*:}" --dir "$tmp/${backend%%:*}" --model "$model" \
        --threads 1 --workers 1 --cgi "$BUILD/bin/predict" > /dev/null
done
front=$(free_port)
serve/balance.sh start --port "$front" --dir "$tmp/front" \
    --backend "127.0.0.1:$port_a" --backend "127.0.0.1:$port_b" > /dev/null

# upload N: N uploads through the balancer; each must be a 200 with the
# verdict ./infer gives
upload() {
    for i in $(seq "$1"); do
        code=$(curl -s -o "$tmp/answer.json" -w '%{http_code}' --max-time 120 \
               -F "xray=@$JPEG" "http://127.0.0.1:$front/cgi-bin/predict?format=json") || true
        [ "$code" = 200 ] || fail "upload $i through the balancer: status $code"
        got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' \
              "$tmp/answer.json")
        [ "$got" = "$want" ] || fail "upload $i: verdict '$got', ./infer says '$want'"
    done
}
served() { grep -c 'POST /cgi-bin/predict' "$tmp/$1/access.log" || true; }

echo "-- 1. both backends serve uploads"
upload 6
echo "backend a served $(served a), backend b $(served b) of 6"
[ "$(served a)" -ge 1 ] && [ "$(served b)" -ge 1 ] || fail "one backend got no uploads"

echo "-- 2. one backend down: uploads still succeed"
serve/run.sh stop --dir "$tmp/b"
before=$(served a)
upload 4
[ "$(($(served a) - before))" -eq 4 ] || fail "backend a did not take the 4 uploads"
grep -q "connect() failed" "$tmp/front/error.log" || fail "the balancer did not log the backend down"
echo "4 of 4 uploads answered by backend a while b was down"
echo "balancer_test: all passed"
