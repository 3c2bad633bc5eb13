#!/bin/bash
# web_test.sh - the web front end end to end: nginx + fcgiwrap on a free
# loopback port from a temporary directory, real X-rays (PNG, JPEG, DICOM) POSTed with curl
# (results must equal ./infer's for the same file), malformed requests
# (status codes, no crashed CGI), direct CGI runs (exit status 0 for handled
# errors), images the input gate refuses (422 with the reason, no
# probability), and the headless Chromium test when Chromium is installed.
#
# Uses a random model with a small input (tools/make_model) so that it runs
# in well under a minute; works as root and as a normal user.
#   BUILD=build/opt bash test/web_test.sh      (make test sets BUILD)
#   SCREENSHOT=docs/screenshot.png             where the browser test saves
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
BUILD=${BUILD:-build/opt}
ROOT=$(pwd)
PNG=test/fixtures/images/resize_xray_299.png
JPEG=test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg
DICOM=test/fixtures/dicom/jpeg_lossless.dcm  # 12-bit JPEG lossless, windowed
SCREENSHOT=${SCREENSHOT:-$BUILD/web/screenshot.png}

for tool in nginx fcgiwrap curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "web_test: $tool missing (scripts/install-deps.sh installs it)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d)
cleanup() {
    serve/run.sh stop --dir "$tmp/serve" || true
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
expect_grep() { # what pattern file
    if grep -q -- "$2" "$3"; then ok "$1"; else bad "$1: no '$2' in $3"; fi
}
expect_no_grep() { # what extended-regex file
    if grep -q -E -- "$2" "$3"; then bad "$1: '$2' found in $3"; else ok "$1"; fi
}

# A random model, 75x75 input (the smallest InceptionV3 takes), with the
# input gate's learned statistics fitted on the tiny fixture set.
"$BUILD/tools/make_model" --arch inception_v3 --input-size 75 --out "$tmp/random.safetensors" >/dev/null
MODEL="$tmp/model.safetensors"
"$BUILD/bin/trainer" fit-gate --model-file "$tmp/random.safetensors" --out "$MODEL" \
    --data test/fixtures/train/chest_xray_tiny --val-fraction 0.2 --threads 1 >/dev/null 2>&1
# The programs of this build (make test SANITIZE=1: the sanitized ones).
INFER="$BUILD/bin/infer"
PREDICT="$BUILD/bin/predict"

# A free loopback port (not 8080, which `make serve` uses).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
serve/run.sh start --port "$PORT" --dir "$tmp/serve" --model "$MODEL" \
    --threads 1 --workers 2 --cgi "$PREDICT" >/dev/null
URL="http://127.0.0.1:$PORT"
CGI="$URL/cgi-bin/predict"

# post NAME STATUS [curl args...]: body in $tmp/NAME.body, headers in .head
post() {
    local name=$1 want=$2
    shift 2
    local code
    code=$(curl -s -o "$tmp/$name.body" -D "$tmp/$name.head" -w '%{http_code}' \
        --max-time 120 "$@") || true
    expect_eq "$name: status" "$code" "$want"
}
json_field() { # file field
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(v if isinstance(v, str) else repr(v))' "$1" "$2"
}

# ---------------------------------------------------------------- static files
post index 200 "$URL/"
expect_grep "index: upload form" 'action="/cgi-bin/predict"' "$tmp/index.body"
expect_grep "index: not-a-diagnosis notice" 'This is not a diagnosis' "$tmp/index.body"
post style 200 "$URL/style.css"
post script 200 "$URL/app.js"

# ---------------------------------------------------------------- real X-rays
for kind in png jpeg dicom; do
    case $kind in png) file=$PNG ;; jpeg) file=$JPEG ;; dicom) file=$DICOM ;; esac
    "$INFER" --model "$MODEL" --threads 1 --json "$file" > "$tmp/infer_$kind.json"
    want_verdict=$(json_field "$tmp/infer_$kind.json" verdict)
    want_prob=$(json_field "$tmp/infer_$kind.json" probability)

    post "$kind json" 200 -F "xray=@$file" "$CGI?format=json"
    expect_eq "$kind json: verdict = ./infer's" "$(json_field "$tmp/$kind json.body" verdict)" "$want_verdict"
    expect_eq "$kind json: probability = ./infer's" "$(json_field "$tmp/$kind json.body" probability)" "$want_prob"
    expect_grep "$kind json: content type" '^Content-Type: application/json' "$tmp/$kind json.head"
    expect_eq "$kind json: both kinds of gate checks ran" "$(json_field "$tmp/$kind json.body" gate)" \
        "image and feature checks"

    post "$kind accept" 200 -H 'Accept: application/json' -F "xray=@$file" "$CGI"
    expect_eq "$kind accept: probability = ./infer's" "$(json_field "$tmp/$kind accept.body" probability)" "$want_prob"

    post "$kind html" 200 -F "xray=@$file" "$CGI"
    expect_grep "$kind html: verdict" "id=\"verdict\">$want_verdict<" "$tmp/$kind html.body"
    prob6=$(python3 -c "print('%.6f' % float('$want_prob'))")
    expect_grep "$kind html: probability" "id=\"probability-exact\">$prob6<" "$tmp/$kind html.body"
    expect_grep "$kind html: X-ray and heat map inline" 'src="data:image/png;base64,' "$tmp/$kind html.body"
    expect_grep "$kind html: notice" 'This is not a diagnosis' "$tmp/$kind html.body"
    expect_grep "$kind html: model name" 'InceptionV3' "$tmp/$kind html.body"
done

# ---------------------------------------------------------------- input gate
# What is not a frontal chest X-ray: 422, the reason ./infer gives, no
# probability and no image, the notice.
GATE=test/fixtures/gate
for refused in flat:flat.png:flat colour:colour_photo.jpeg:colour inverted:inverted_xray.jpeg:polarity; do
    IFS=: read -r name file check <<< "$refused"
    "$INFER" --model "$MODEL" --threads 1 --json "$GATE/$file" > "$tmp/infer_$name.json" || true
    reason=$(json_field "$tmp/infer_$name.json" reason)
    post "$name html" 422 -F "xray=@$GATE/$file" "$CGI"
    expect_grep "$name html: says what it is not" 'does not look like a frontal chest X-ray' "$tmp/$name html.body"
    expect_grep "$name html: the reason" "id=\"reason\">$reason<" "$tmp/$name html.body"
    expect_grep "$name html: the check" "id=\"check\">$check<" "$tmp/$name html.body"
    expect_grep "$name html: notice" 'This is not a diagnosis' "$tmp/$name html.body"
    expect_no_grep "$name html: no probability, no image" 'id="probability|data:image|<meter' "$tmp/$name html.body"
    post "$name json" 422 -F "xray=@$GATE/$file" "$CGI?format=json"
    expect_eq "$name json: verdict" "$(json_field "$tmp/$name json.body" verdict)" NOT_A_CHEST_XRAY
    expect_eq "$name json: reason = ./infer's" "$(json_field "$tmp/$name json.body" reason)" "$reason"
    expect_eq "$name json: check" "$(json_field "$tmp/$name json.body" check)" "$check"
    expect_no_grep "$name json: no probability" '"probability"' "$tmp/$name json.body"
done

# ---------------------------------------------------------------- malformed
B=testboundary42
part() { # field filename file -> a complete multipart body on stdout
    printf -- "--$B\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n" "$1" "$2"
    cat "$3"
    printf -- "\r\n--$B--\r\n"
}
part xray x.png "$PNG" > "$tmp/good.mp"

post "no boundary" 400 -H "Content-Type: multipart/form-data" --data-binary "@$tmp/good.mp" "$CGI"
post "not multipart" 400 -H "Content-Type: application/octet-stream" --data-binary "@$PNG" "$CGI"
# The body ends before the closing boundary (Content-Length matches it).
head -c 20000 "$tmp/good.mp" > "$tmp/cut.mp"
post "truncated body" 400 -H "Content-Type: multipart/form-data; boundary=$B" --data-binary "@$tmp/cut.mp" "$CGI"
expect_grep "truncated body: says why" 'closing boundary' "$tmp/truncated body.body"

# Raw HTTP: a Content-Length that does not match the bytes sent.
raw() { # name content-length bytes-to-send -> the status code, or "none"
    python3 - "$PORT" "$tmp/good.mp" "$2" "$3" "$B" <<'PY' > "$tmp/$1.raw" || true
import socket, sys
port, path, length, send, b = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
body = open(path, "rb").read()[:send]
s = socket.create_connection(("127.0.0.1", port), timeout=60)
s.sendall(("POST /cgi-bin/predict HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           "Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n"
           % (b, length)).encode() + body)
if send < length:
    s.shutdown(socket.SHUT_WR)  # the client gives up: no more bytes come
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except ConnectionResetError:
    pass
words = data.split(b" ", 2)
print(words[1].decode() if len(words) > 1 else "none")
PY
    cat "$tmp/$1.raw"
}
size=$(stat -c %s "$tmp/good.mp")
# Content-Length shorter than the body: the CGI gets a body without its end.
expect_eq "content-length too small" "$(raw short $((size / 2)) "$size")" 400
# Content-Length longer than what arrives before the client stops sending:
# nginx drops the request without an answer (logs 400) and the CGI, whose
# input ends early, must not crash (checked in the logs below).
expect_eq "content-length too large" "$(raw long $((size + 5000)) "$size")" none

post "chunked upload" 411 -H "Transfer-Encoding: chunked" -F "xray=@$PNG" "$CGI"

head -c 50000000 /dev/zero > "$tmp/big.bin"
post "50 MB body" 413 -F "xray=@$tmp/big.bin;filename=big.png" "$CGI"
rm -f "$tmp/big.bin"
printf 'This is a text file, not an X-ray.\n' > "$tmp/note.txt"
post "text file" 415 -F "xray=@$tmp/note.txt" "$CGI"
post "text file json" 415 -F "xray=@$tmp/note.txt" "$CGI?format=json"
expect_eq "text file json: error status" "$(json_field "$tmp/text file json.body" error.status)" 415
: > "$tmp/empty.png"
post "empty file" 400 -F "xray=@$tmp/empty.png" "$CGI"
post "no file part" 400 -F "note=hello" "$CGI"
# A valid header announcing 100000x100000 pixels: refused before decoding.
post "huge image" 413 -F "xray=@test/fixtures/images/huge_header.png" "$CGI"
head -c 3000 "$PNG" > "$tmp/cut.png"
post "truncated PNG" 415 -F "xray=@$tmp/cut.png" "$CGI"

# HTML in the file name is escaped on the page.
post "html file name" 200 -F "xray=@$PNG;filename=<script>alert(1)</script>.png" "$CGI"
expect_grep "html file name: escaped" '&lt;script&gt;alert(1)&lt;/script&gt;.png' "$tmp/html file name.body"
expect_no_grep "html file name: not raw" '<script>alert' "$tmp/html file name.body"

post "GET" 405 "$CGI"
expect_grep "GET: Allow header" '^Allow: POST' "$tmp/GET.head"
post "PUT" 405 -X PUT --data-binary "@$PNG" "$CGI"
post "other cgi path" 404 "$URL/cgi-bin/other"

# ---------------------------------------------------------------- browser
if command -v chromium >/dev/null && command -v chromedriver >/dev/null &&
    /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
    mkdir -p "$(dirname "$SCREENSHOT")"
    if /usr/bin/python3 test/browser_test.py --url "$URL/" --image "$ROOT/$JPEG" \
        --screenshot "$SCREENSHOT" --profile "$tmp/chromium" >"$tmp/browser.log" 2>&1; then
        ok "browser: upload through the form, result page ($SCREENSHOT)"
    else
        bad "browser test:"
        cat "$tmp/browser.log"
    fi
    # A DICOM file: no preview in the browser; the result page shows the
    # X-ray rendered from it and its heat map.
    shot_dicom="${SCREENSHOT%.png}-dicom.png"
    if /usr/bin/python3 test/browser_test.py --url "$URL/" --image "$ROOT/$DICOM" \
        --screenshot "$shot_dicom" --profile "$tmp/chromium-dicom" >"$tmp/browser-dicom.log" 2>&1; then
        ok "browser: DICOM upload through the form, result page ($shot_dicom)"
    else
        bad "browser test, DICOM:"
        cat "$tmp/browser-dicom.log"
    fi
else
    echo "skip browser test (needs chromium, chromium-driver, python3-selenium)"
fi

# ---------------------------------------------------------------- no crash
serve/run.sh stop --dir "$tmp/serve"
logs="$tmp/serve/error.log"
cat "$tmp/serve/fcgiwrap.log" >> "$logs" 2>/dev/null || true
expect_no_grep "no CGI crash in the logs" 'signal|egmentation|core dumped|Sanitizer|runtime error|terminated' "$logs"
expect_no_grep "no bad gateway" ' 502 ' "$tmp/serve/access.log"

# ---------------------------------------------------------------- direct CGI runs
# Handled errors exit 0 with a Status header (RFC 3875 6.3.3).
cgi() { # name want-status env... < stdin
    local name=$1 want=$2 rc=0
    shift 2
    env -i PNEUMONIA_MODEL="$MODEL" CNN_THREADS=1 "$@" "$PREDICT" > "$tmp/$name.cgi" 2> "$tmp/$name.cgierr" || rc=$?
    expect_eq "cgi $name: exit status" "$rc" 0
    expect_eq "cgi $name: status" "$(head -n 1 "$tmp/$name.cgi" | tr -d '\r')" "Status: $want"
}
MP="CONTENT_TYPE=multipart/form-data; boundary=$B"
cgi "GET" "405 Method Not Allowed" REQUEST_METHOD=GET < /dev/null
cgi "no length" "411 Length Required" REQUEST_METHOD=POST "$MP" < "$tmp/good.mp"
cgi "bad length" "400 Bad Request" REQUEST_METHOD=POST CONTENT_LENGTH=12x "$MP" < "$tmp/good.mp"
cgi "negative length" "400 Bad Request" REQUEST_METHOD=POST CONTENT_LENGTH=-5 "$MP" < "$tmp/good.mp"
cgi "body shorter than length" "400 Bad Request" REQUEST_METHOD=POST \
    CONTENT_LENGTH=$((size + 100)) "$MP" < "$tmp/good.mp"
cgi "declared 50 MB" "413 Content Too Large" REQUEST_METHOD=POST CONTENT_LENGTH=50000000 "$MP" < "$tmp/good.mp"
cgi "huge length" "413 Content Too Large" REQUEST_METHOD=POST CONTENT_LENGTH=99999999999999999 "$MP" < /dev/null
cgi "good" "200 OK" REQUEST_METHOD=POST CONTENT_LENGTH="$size" "$MP" QUERY_STRING=format=json < "$tmp/good.mp"
part xray flat.png "$GATE/flat.png" > "$tmp/flat.mp"
cgi "refused" "422 Unprocessable Content" REQUEST_METHOD=POST CONTENT_LENGTH="$(stat -c %s "$tmp/flat.mp")" \
    "$MP" < "$tmp/flat.mp"
cgi "missing model" "500 Internal Server Error" REQUEST_METHOD=POST CONTENT_LENGTH="$size" "$MP" \
    PNEUMONIA_MODEL=/nonexistent.safetensors < "$tmp/good.mp"
# Only CONTENT_LENGTH bytes are read: the rest stays in the input.
{ cat "$tmp/good.mp"; printf 'EXTRA'; } > "$tmp/extra.mp"
rest=$( { env -i PNEUMONIA_MODEL="$MODEL" REQUEST_METHOD=POST CONTENT_LENGTH="$size" "$MP" \
    QUERY_STRING=format=json "$PREDICT" >/dev/null; cat; } < "$tmp/extra.mp")
expect_eq "cgi reads no more than CONTENT_LENGTH" "$rest" EXTRA

echo "web_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
