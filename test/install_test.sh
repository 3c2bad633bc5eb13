#!/bin/bash
# install_test.sh - `make install DESTDIR=<temp> PREFIX=/usr` (mk/install.mk):
#   - the programs, the upload page and the model where docs/web.md says;
#   - the installed pneumonia-infer, run from /, finds its installed model
#     and classifies a fixture X-ray (exit 0, the verdict line);
#   - the installed CGI answers GET (405) and a POSTed X-ray (200, the same
#     probability as pneumonia-infer) from its installed model;
#   - nginx (serve/run.sh --www --cgi --model) serves the installed tree;
#   - `make uninstall` removes all it installed and nothing else.
# The shipped model is an overlay on the backbone `make weights` makes: when
# the backbone is missing (a clean clone), a random 75x75 model
# (tools/make_model) takes the installed model's place.
#   BUILD=build/opt bash test/install_test.sh      (make test sets BUILD)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
BUILD=${BUILD:-build/opt}
JPEG=$(pwd)/test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg

tmp=$(mktemp -d)
cleanup() {
    serve/run.sh stop --dir "$tmp/serve" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that the EXIT trap cleans up

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
expect_grep() { if grep -q -E -- "$2" "$3"; then ok "$1"; else bad "$1: no '$2' in $3"; fi; }

# ---------------------------------------------------------------- install
dest=$tmp/dest
rc=0
make --no-print-directory install DESTDIR="$dest" PREFIX=/usr BUILD="$BUILD" \
    > "$tmp/install.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$tmp/install.log"
    echo "install_test: make install failed (exit status $rc)"
    exit 1
fi
ok "make install"
INFER=$dest/usr/bin/pneumonia-infer
PREDICT=$dest/usr/lib/pneumonia-detection/cgi-bin/predict
DATA=$dest/usr/share/pneumonia-detection
for f in "$INFER" "$dest/usr/bin/pneumonia-trainer" "$PREDICT"; do
    if [ -x "$f" ]; then ok "installed program ${f#"$dest"}"; else bad "no program ${f#"$dest"}"; fi
done
for f in www/index.html www/app.js www/style.css weights/pneumonia.safetensors; do
    if cmp -s "$f" "$DATA/$f"; then ok "installed $f"; else bad "$f not installed as $DATA/$f"; fi
done

if [ -f weights/inception_v3_nsfwjs.safetensors ]; then
    echo "(the shipped model with its backbone)"
else
    echo "(no backbone (make weights): a random model in the installed model's place)"
    "$BUILD/tools/make_model" --arch inception_v3 --input-size 75 \
        --out "$DATA/weights/pneumonia.safetensors" >/dev/null
fi

# ---------------------------------------------------------------- pneumonia-infer
rc=0
(cd / && env -u PNEUMONIA_MODEL "$INFER" --threads 1 "$JPEG") > "$tmp/infer.out" 2> "$tmp/infer.err" || rc=$?
expect_eq "pneumonia-infer from /: exit status" "$rc" 0
expect_grep "pneumonia-infer from /: the verdict line" \
    "^$JPEG: (NORMAL|PNEUMONIA) \\(pneumonia probability [01]\\.[0-9]{4}, threshold [01]\\.[0-9]{4}\\)$" "$tmp/infer.out"
[ "$rc" -eq 0 ] || cat "$tmp/infer.err"
want_prob=$(cd / && env -u PNEUMONIA_MODEL "$INFER" --threads 1 --json "$JPEG" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["probability"])' || echo none)

# ---------------------------------------------------------------- the CGI
B=installboundary5
{
    printf -- "--$B\r\nContent-Disposition: form-data; name=\"xray\"; filename=\"x.jpeg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    cat "$JPEG"
    printf -- "\r\n--$B--\r\n"
} > "$tmp/upload.mp"
rc=0
(cd / && env -i CNN_THREADS=1 REQUEST_METHOD=GET "$PREDICT") < /dev/null > "$tmp/get.cgi" || rc=$?
expect_eq "CGI GET: exit status" "$rc" 0
expect_eq "CGI GET: status" "$(head -n 1 "$tmp/get.cgi" | tr -d '\r')" "Status: 405 Method Not Allowed"
rc=0
(cd / && env -i CNN_THREADS=1 REQUEST_METHOD=POST QUERY_STRING=format=json \
    CONTENT_TYPE="multipart/form-data; boundary=$B" \
    CONTENT_LENGTH="$(stat -c %s "$tmp/upload.mp")" "$PREDICT") \
    < "$tmp/upload.mp" > "$tmp/post.cgi" 2> "$tmp/post.err" || rc=$?
expect_eq "CGI POST: exit status" "$rc" 0
expect_eq "CGI POST: status" "$(head -n 1 "$tmp/post.cgi" | tr -d '\r')" "Status: 200 OK"
got_prob=$(sed '1,/^\r\{0,1\}$/d' "$tmp/post.cgi" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["probability"])' 2>/dev/null || true)
expect_eq "CGI POST: pneumonia-infer's probability, from the installed model" "$got_prob" "$want_prob"
[ "$got_prob" = "$want_prob" ] || cat "$tmp/post.err"

# ---------------------------------------------------------------- nginx
if command -v nginx >/dev/null && command -v fcgiwrap >/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    serve/run.sh start --port "$port" --dir "$tmp/serve" --threads 1 --www "$DATA/www" \
        --cgi "$PREDICT" --model "$DATA/weights/pneumonia.safetensors" >/dev/null
    code=$(curl -s -o "$tmp/page.html" -w '%{http_code}' "http://127.0.0.1:$port/")
    expect_eq "nginx: the installed upload page" "$code $(cmp -s "$tmp/page.html" www/index.html && echo same)" "200 same"
    code=$(curl -s -o "$tmp/nginx.json" -w '%{http_code}' --max-time 120 \
        -F "xray=@$JPEG" "http://127.0.0.1:$port/cgi-bin/predict?format=json")
    got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["probability"])' \
        "$tmp/nginx.json" 2>/dev/null || true)
    expect_eq "nginx: an upload answered by the installed CGI" "$code $got" "200 $want_prob"
    serve/run.sh stop --dir "$tmp/serve"
else
    echo "skip nginx part: nginx or fcgiwrap is not installed"
fi

# ---------------------------------------------------------------- uninstall
mkdir -p "$dest/usr/share/other"
rc=0
make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr BUILD="$BUILD" \
    > "$tmp/uninstall.log" 2>&1 || rc=$?
expect_eq "make uninstall: exit status" "$rc" 0
left=$(cd "$dest" && find . -mindepth 1 | sort | tr '\n' ' ')
expect_eq "make uninstall: only the directories it did not make are left" "$left" \
    "./usr ./usr/bin ./usr/lib ./usr/share ./usr/share/other "

echo "install_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
