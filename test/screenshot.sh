#!/bin/bash
# screenshot.sh - `make screenshot`: serves the app with MODEL on a free
# loopback port, uploads an X-ray through the form in headless Chromium
# (test/browser_test.py) and saves the result page as OUT.
#   bash test/screenshot.sh MODEL OUT.png [IMAGE]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$1
OUT=$2
IMAGE=${3:-test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg}
[ -f "$MODEL" ] || { echo "screenshot: no model at $MODEL" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'serve/run.sh stop --dir "$tmp/serve"; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM # so that the EXIT trap cleans up
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
serve/run.sh start --port "$PORT" --dir "$tmp/serve" --model "$MODEL" >/dev/null
mkdir -p "$(dirname "$OUT")"
/usr/bin/python3 test/browser_test.py --url "http://127.0.0.1:$PORT/" \
    --image "$PWD/$IMAGE" --screenshot "$OUT" --profile "$tmp/chromium"
