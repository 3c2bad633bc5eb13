#!/bin/bash
# serve_test.sh - the Apache and lighttpd configurations in serve/ (nginx's
# is web_test.sh's). Each server that is installed runs its configuration
# from a temporary copy of the layout it expects (www/, cgi-bin/predict =
# this build's CGI) on a free loopback port, with a random 75x75 model:
#   - the upload page, and an upload answered as ./infer answers it;
#   - chunked uploads get a complete answer: 411 from Apache (its CGI would
#     get no CONTENT_LENGTH), from lighttpd 200 for a small body (passed on
#     with its length) and 411 for a large one;
#   - while 4 clients upload slowly, at most 2 CGI processes run (the
#     configurations' limit, like nginx's 2 fcgiwrap workers), and all 4
#     are answered;
#   - no CGI answer cut short (Apache's AH00574) or crash in the logs.
# Works as root (Apache then runs the CGI as nobody) and as a normal user.
#   BUILD=build/opt bash test/serve_test.sh      (make test sets BUILD)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
BUILD=${BUILD:-build/opt}
REPO=$(pwd)
JPEG=$REPO/test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg

servers=()
command -v apache2 >/dev/null && servers+=(apache)
command -v lighttpd >/dev/null && servers+=(lighttpd)
if [ ${#servers[@]} -eq 0 ]; then
    echo "skip serve_test: neither apache2 nor lighttpd is installed"
    exit 0
fi
command -v curl >/dev/null || { echo "serve_test: curl missing" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp" # readable by nobody, whom Apache runs the CGI as under root
pidfile=
cleanup() {
    if [ -n "$pidfile" ] && [ -f "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that the EXIT trap cleans up

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
expect_eq() { # what got want
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}

root=$tmp/root
mkdir -p "$root/cgi-bin"
cp -r www "$root/www"
CGI=$root/cgi-bin/predict
cp "$BUILD/bin/predict" "$CGI"
MODEL=$tmp/model.safetensors
"$BUILD/tools/make_model" --arch inception_v3 --input-size 75 --out "$MODEL" >/dev/null
chmod 644 "$MODEL"
head -c 5000000 /dev/urandom > "$tmp/large.bin"
want_prob=$("$BUILD/bin/infer" --model "$MODEL" --threads 1 --json "$JPEG" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["probability"])')

# post NAME [curl args...]: "STATUS CURL_EXIT", body in $tmp/NAME.body
post() {
    local name=$1 code rc=0
    shift
    code=$(curl -s -o "$tmp/$name.body" -w '%{http_code}' --max-time 60 "$@") || rc=$?
    echo "$code $rc"
}

# slow_uploads PORT: 4 connections each send their headers and half of an
# upload, wait, then the rest. Prints the most CGI processes seen while
# they wait, then the 4 statuses.
slow_uploads() {
    python3 - "$1" "$JPEG" "$CGI" <<'PY'
import os, socket, sys, time
port, image, cgi = int(sys.argv[1]), sys.argv[2], sys.argv[3]
b = "slowboundary7"
body = (("--%s\r\nContent-Disposition: form-data; name=\"xray\"; filename=\"x.jpeg\"\r\n"
         "Content-Type: image/jpeg\r\n\r\n" % b).encode() + open(image, "rb").read()
        + ("\r\n--%s--\r\n" % b).encode())
head = ("POST /cgi-bin/predict?format=json HTTP/1.1\r\nHost: localhost\r\n"
        "Connection: close\r\nContent-Type: multipart/form-data; boundary=%s\r\n"
        "Content-Length: %d\r\n\r\n" % (b, len(body))).encode()
def cgis():
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            n += open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")[0] == cgi.encode()
        except OSError:
            pass
    return n
socks = []
for _ in range(4):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(head + body[: len(body) // 2])
    socks.append(s)
most = 0
for _ in range(30):
    time.sleep(0.05)
    most = max(most, cgis())
print(most)
statuses = []
for s in socks:
    s.sendall(body[len(body) // 2:])
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    words = data.split(b" ", 2)
    statuses.append(words[1].decode() if len(words) > 1 else "none")
print(" ".join(statuses))
PY
}

start_apache() { # port run-dir
    export PNEUMONIA_WWW=$root/www PNEUMONIA_CGI_BIN=$root/cgi-bin PNEUMONIA_RUN=$2 PNEUMONIA_PORT=$1 PNEUMONIA_MODEL=$MODEL
    local as_root=()
    [ "$(id -u)" -eq 0 ] && as_root=(-DAS_ROOT)
    pidfile=$2/apache.pid
    apache2 -f "$REPO/serve/apache.conf" "${as_root[@]}" -k start
    errlog=$2/apache-error.log
}

start_lighttpd() { # port run-dir
    export PNEUMONIA_WWW=$root/www PNEUMONIA_CGI_BIN=$root/cgi-bin PNEUMONIA_RUN=$2 PNEUMONIA_PORT=$1 PNEUMONIA_MODEL=$MODEL
    pidfile=$2/lighttpd.pid
    lighttpd -f "$REPO/serve/lighttpd.conf"
    errlog=$2/lighttpd-error.log
}

for server in "${servers[@]}"; do
    echo "-- $server"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    run=$tmp/run-$server
    mkdir -p "$run"
    "start_$server" "$port" "$run"
    url=http://127.0.0.1:$port
    for _ in $(seq 100); do
        curl -fs -o /dev/null "$url/" && break
        sleep 0.1
    done

    expect_eq "$server: upload page" "$(post index "$url/")" "200 0"
    grep -q 'action="/cgi-bin/predict"' "$tmp/index.body" && ok "$server: upload form" \
        || bad "$server: no upload form"
    expect_eq "$server: upload" "$(post upload -F "xray=@$JPEG" "$url/cgi-bin/predict?format=json")" "200 0"
    expect_eq "$server: DICOM upload" "$(post dicom -F "xray=@test/fixtures/dicom/jpeg_lossless.dcm;type=application/dicom" \
        "$url/cgi-bin/predict?format=json")" "200 0"
    grep -q '"verdict"' "$tmp/dicom.body" && ok "$server: DICOM upload has a verdict" \
        || bad "$server: DICOM upload has no verdict"
    got_prob=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["probability"])' \
        "$tmp/upload.body" 2>/dev/null || echo none)
    expect_eq "$server: probability = ./infer's" "$got_prob" "$want_prob"

    # Apache refuses chunked bodies (411); lighttpd buffers a small one and
    # passes it on (200) or answers 411, depending on how the body arrives
    # (both seen): either way a complete, clean answer.
    got_chunked=$(post chunked -H 'Transfer-Encoding: chunked' -F "xray=@$JPEG" "$url/cgi-bin/predict")
    if [ "$server" = lighttpd ] && [ "$got_chunked" = "411 0" ]; then got_chunked="200 0"; fi
    if [ "$server" = apache ]; then small_chunked="411 0"; else small_chunked="200 0"; fi
    expect_eq "$server: small chunked upload, complete answer" "$got_chunked" "$small_chunked"
    expect_eq "$server: large chunked upload, complete answer" \
        "$(post chunked_large -H 'Transfer-Encoding: chunked' -F "xray=@$tmp/large.bin" \
            "$url/cgi-bin/predict")" "411 0"

    slow_uploads "$port" > "$tmp/slow.txt"
    most=$(sed -n 1p "$tmp/slow.txt")
    if [ "$most" -ge 1 ] && [ "$most" -le 2 ]; then
        ok "$server: $most CGI processes at once for 4 slow uploads"
    else
        bad "$server: $most CGI processes at once for 4 slow uploads, want 1 or 2"
    fi
    expect_eq "$server: all 4 slow uploads answered" "$(sed -n 2p "$tmp/slow.txt")" "200 200 200 200"

    kill "$(cat "$pidfile")"
    for _ in $(seq 50); do
        [ -f "$pidfile" ] || break
        sleep 0.1
    done
    pidfile=
    if grep -E 'AH00574|egmentation|Sanitizer|runtime error|signal' "$errlog"; then
        bad "$server: an answer cut short or a crash in $errlog"
    else
        ok "$server: clean error log"
    fi
done

echo "serve_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
