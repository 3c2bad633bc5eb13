#!/bin/bash
# infer_test.sh - ./infer's command line: output formats, heat map files,
# errors per file (others still processed, exit 1), usage errors (exit 2).
# Uses a random model with a small input (tools/make_model).
#   BUILD=build/opt bash test/infer_test.sh      (make test sets BUILD)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/opt}
PNG=test/fixtures/images/resize_xray_299.png
JPEG=test/fixtures/images/xray_normal_IM-0115-0001.jpeg

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
expect_grep() { if grep -q -E -- "$2" "$3"; then ok "$1"; else bad "$1: no '$2' in $3"; fi; }
run() { # name: runs the rest, records stdout, stderr and the exit status
    local name=$1 rc=0
    shift
    "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" || rc=$?
    echo "$rc" > "$tmp/$name.rc"
}
status() { cat "$tmp/$1.rc"; }

MODEL="$tmp/model.safetensors"
"$BUILD/tools/make_model" --arch inception_v3 --input-size 75 --out "$MODEL" >/dev/null
INFER="$BUILD/bin/infer --model $MODEL --threads 1"

# ---------------------------------------------------------------- usage
run noargs "$BUILD/bin/infer"
expect_eq "no image: exit 2" "$(status noargs)" 2
expect_grep "no image: usage" '^usage: infer' "$tmp/noargs.err"
run badflag "$BUILD/bin/infer" --frobnicate "$PNG"
expect_eq "unknown flag: exit 2" "$(status badflag)" 2
expect_grep "unknown flag: usage" '^usage: infer' "$tmp/badflag.err"
run badthreads "$BUILD/bin/infer" --threads zero "$PNG"
expect_eq "bad --threads: exit 2" "$(status badthreads)" 2
run help "$BUILD/bin/infer" --help
expect_eq "--help: exit 0" "$(status help)" 0
expect_grep "--help: usage on stdout" '^usage: infer' "$tmp/help.out"
run nomodel "$BUILD/bin/infer" --model "$tmp/none.safetensors" "$PNG"
expect_eq "missing model: exit 1" "$(status nomodel)" 1
expect_grep "missing model: says so" 'cannot load the model' "$tmp/nomodel.err"

# ---------------------------------------------------------------- text
run text $INFER "$PNG" "$JPEG"
expect_eq "text: exit 0" "$(status text)" 0
expect_eq "text: the notice, then one line per image" "$(wc -l < "$tmp/text.out")" 3
expect_grep "text: verdict, probability, threshold" \
    "^$PNG: (NORMAL|PNEUMONIA) \\(pneumonia probability [01]\\.[0-9]{4}, threshold [01]\\.[0-9]{4}\\)$" "$tmp/text.out"
expect_eq "text: notice first, on stdout" "$(head -n 1 "$tmp/text.out" | cut -c 1-30)" "Note: This is not a diagnosis."
expect_eq "text: notice only once" "$(grep -c 'not a diagnosis' "$tmp/text.out")" 1

# ---------------------------------------------------------------- errors per file
printf 'not an image\n' > "$tmp/note.txt"
run mixed $INFER "$tmp/missing.png" "$PNG" "$tmp/note.txt" "$JPEG"
expect_eq "mixed: exit 1" "$(status mixed)" 1
expect_eq "mixed: good images still classified" "$(grep -c 'pneumonia probability' "$tmp/mixed.out")" 2
expect_grep "mixed: missing file named with reason" "^infer: $tmp/missing.png: .*(No such file|cannot open)" "$tmp/mixed.err"
expect_grep "mixed: non-image named with reason" "^infer: $tmp/note.txt: .*not a PNG, JPEG or DICOM" "$tmp/mixed.err"

# ---------------------------------------------------------------- JSON
run json $INFER --json "$PNG" "$tmp/note.txt" "$JPEG"
expect_eq "json: exit 1 (one bad file)" "$(status json)" 1
if python3 - "$tmp/json.out" "$PNG" "$JPEG" "$tmp/note.txt" "$tmp/text.out" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, lines
objs = [json.loads(l) for l in lines]
png, bad, jpeg = objs
assert png["file"] == sys.argv[2] and jpeg["file"] == sys.argv[3]
assert bad["file"] == sys.argv[4] and "not a PNG, JPEG or DICOM" in bad["error"]
text = open(sys.argv[5]).read().splitlines()[1:]  # after the notice
for o, t in zip((png, jpeg), text):
    assert o["verdict"] in ("NORMAL", "PNEUMONIA")
    assert 0 <= o["probability"] <= 1 and 0 < o["threshold"] < 1
    # The verdict follows the threshold.
    assert (o["verdict"] == "PNEUMONIA") == (o["probability"] >= o["threshold"]), o
    assert "not a diagnosis" in o["notice"]
    assert o["model"]["arch"] == "inception_v3" and o["model"]["name"]
    # Same numbers as the text mode.
    assert ("probability %.4f" % o["probability"]) in t, (o, t)
    assert o["verdict"] in t
PY
then ok "json: one object per image, fields consistent with text mode"; else bad "json: objects"; fi

# ---------------------------------------------------------------- heat maps
png_size() { # prints "width height" of a PNG
    python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24)
assert d[:8]==b"\x89PNG\r\n\x1a\n"; print(*struct.unpack(">II", d[16:24]))' "$1"
}
run heat1 $INFER --heatmap "$tmp/one.png" "$PNG"
expect_eq "heatmap: exit 0" "$(status heat1)" 0
expect_eq "heatmap: PNG at the X-ray's size" "$(png_size "$tmp/one.png")" "299 299"
expect_grep "heatmap: named in the output" "heat map $tmp/one.png" "$tmp/heat1.out"
run heat2 $INFER --json --heatmap "$tmp/many.png" "$PNG" "$JPEG"
expect_eq "heatmaps: exit 0" "$(status heat2)" 0
expect_eq "heatmaps: first named OUT-1.png" "$(png_size "$tmp/many-1.png")" "299 299"
expect_eq "heatmaps: second named OUT-2.png" "$(png_size "$tmp/many-2.png")" "$(python3 -c '
import struct,sys; d=open(sys.argv[1],"rb").read()
i=2
while True:
    assert d[i]==0xFF; m=d[i+1]; n=struct.unpack(">H",d[i+2:i+4])[0]
    if m in (0xC0,0xC1,0xC2): h,w=struct.unpack(">HH",d[i+5:i+9]); print(w,h); break
    i+=2+n' "$JPEG")"
expect_grep "heatmaps: JSON names the file" "\"heatmap\":\"$tmp/many-2.png\"" "$tmp/heat2.out"
# Grad-CAM gives the same probability as the plain forward pass.
p_plain=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["probability"])' "$tmp/json.out")
p_heat=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["probability"])' "$tmp/heat2.out")
python3 -c "import sys; sys.exit(abs($p_plain - $p_heat) > 1e-5)" &&
    ok "heatmap run: same probability as without" || bad "heatmap probability $p_heat vs $p_plain"

echo "infer_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
