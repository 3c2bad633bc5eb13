#!/bin/bash
# infer_test.sh - ./infer's command line: output formats, heat map files,
# errors per file (others still processed, exit 1), usage errors (exit 2),
# the input gate (refused images: exit 3, the reason, no probability; the
# image checks on a model without learned statistics, the learned checks on
# one fitted by `trainer fit-gate` on the tiny fixture set), and the default
# model found next to the program from any directory.
# Uses a random model with a small input (tools/make_model).
#   BUILD=build/opt bash test/infer_test.sh      (make test sets BUILD)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/opt}
PNG=test/fixtures/images/resize_xray_299.png
JPEG=test/fixtures/images/xray_normal_IM-0115-0001.jpeg
GATE=test/fixtures/gate

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

# ---------------------------------------------------------------- input gate
# The random model has no learned statistics: the image checks only.
run refused $INFER "$GATE/flat.png" "$GATE/colour_photo.jpeg" "$PNG" "$GATE/document.png"
expect_eq "gate: exit 3 when an image was refused" "$(status refused)" 3
expect_grep "gate: flat image refused, with the reason" \
    "^$GATE/flat.png: not a frontal chest X-ray \\(flat image: almost no contrast\\)$" "$tmp/refused.out"
expect_grep "gate: colour photo refused, with the reason" \
    "^$GATE/colour_photo.jpeg: not a frontal chest X-ray \\(colour image\\)$" "$tmp/refused.out"
expect_grep "gate: document refused" "^$GATE/document.png: not a frontal chest X-ray \\(.*two grey levels" "$tmp/refused.out"
expect_grep "gate: the X-ray among them still classified" "^$PNG: (NORMAL|PNEUMONIA) \\(pneumonia probability" "$tmp/refused.out"
expect_eq "gate: no verdict or probability for what was refused" \
    "$(grep -c -E 'NORMAL|PNEUMONIA|probability' "$tmp/refused.out")" 1
run refused_missing $INFER "$GATE/flat.png" "$tmp/missing.png"
expect_eq "gate: a file that cannot be read keeps exit 1" "$(status refused_missing)" 1
run refused_heat $INFER --heatmap "$tmp/refused-heat.png" "$GATE/flat.png"
expect_eq "gate: --heatmap on a refused image: exit 3" "$(status refused_heat)" 3
if [ -e "$tmp/refused-heat.png" ]; then bad "gate: a heat map was written for a refused image"; else ok "gate: no heat map for a refused image"; fi

# JSON: verdict NOT_A_CHEST_XRAY and the reason, no probability, no heat map.
check_json() { # file, then per line: "refused CHECK" or "classified", gate
    python3 - "$@" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
gate, want = sys.argv[2], sys.argv[3:]
assert len(lines) == len(want), (lines, want)
for line, w in zip(lines, want):
    o = json.loads(line)
    assert o["gate"] == gate, o
    assert "not a diagnosis" in o["notice"] and o["model"]["arch"] == "inception_v3", o
    if w == "classified":
        assert o["verdict"] in ("NORMAL", "PNEUMONIA") and 0 <= o["probability"] <= 1, o
        assert "reason" not in o and "check" not in o, o
    else:
        assert o["verdict"] == "NOT_A_CHEST_XRAY", o
        assert o["check"] == w.split()[1] and o["reason"], o
        assert "probability" not in o and "threshold" not in o and "heatmap" not in o, o
    if gate == "image and feature checks" and o.get("check") == "polarity":
        assert o["polarity"] <= 0 and "layout_distance" not in o, o
    elif gate == "image and feature checks" and o.get("check") not in ("flat", "colour"):
        assert o["polarity"] > 0 and o["layout_distance"] > 0, o
    if gate == "image checks only":
        assert "polarity" not in o and "layout_distance" not in o and "features_distance" not in o, o
PY
}
run refused_json $INFER --json --heatmap "$tmp/refused-json.png" "$GATE/flat.png" \
    "$GATE/colour_photo.jpeg" "$PNG"
expect_eq "gate json: exit 3" "$(status refused_json)" 3
if check_json "$tmp/refused_json.out" "image checks only" "refused flat" "refused colour" classified
then ok "gate json: refused objects, the X-ray classified"; else bad "gate json: objects"; fi

# Learned checks: a gate fitted on the tiny fixture set's training part.
"$BUILD/bin/trainer" fit-gate --model-file "$MODEL" --data test/fixtures/train/chest_xray_tiny \
    --val-fraction 0.2 --threads 1 --out "$tmp/gated.safetensors" > "$tmp/fit.out" 2> "$tmp/fit.err" ||
    { cat "$tmp/fit.err"; bad "trainer fit-gate failed"; }
expect_grep "fit-gate: reports the validation acceptance" '^  learned checks: [0-9]+/[0-9]+ \(' "$tmp/fit.out"
fit_gate() { "$BUILD/bin/trainer" fit-gate --data test/fixtures/train/chest_xray_tiny "$@"; }
run fit_same fit_gate --model-file "$MODEL" --out "$MODEL"
expect_eq "fit-gate: refuses to overwrite its input (exit 2)" "$(status fit_same)" 2
expect_grep "fit-gate: says why" 'is the model file itself' "$tmp/fit_same.err"
run fit_margin fit_gate --model-file "$MODEL" --out "$tmp/x.safetensors" --margin 0.5
expect_eq "fit-gate: a margin below 1 is refused (exit 2)" "$(status fit_margin)" 2
run fit_help "$BUILD/bin/trainer" fit-gate --help
expect_grep "fit-gate: --help lists the threshold rule" '--quantile.*--margin|--margin' "$tmp/fit_help.out"
GATED="$BUILD/bin/infer --model $tmp/gated.safetensors --threads 1"
run learned $GATED --json "$PNG" "$JPEG" "$GATE/inverted_xray.jpeg" "$GATE/rotated_xray.jpeg" "$GATE/flat.png"
expect_eq "learned gate: exit 3" "$(status learned)" 3
if check_json "$tmp/learned.out" "image and feature checks" classified classified \
    "refused polarity" "refused polarity" "refused flat"
then ok "learned gate: X-rays pass, inverted and rotated X-rays refused by polarity"; else bad "learned gate: objects"; fi
# The gate changes nothing else: the same probability as without it.
p_gated=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["probability"])' "$tmp/learned.out")
expect_eq "learned gate: same probability as the model without it" "$p_gated" "$p_plain"
run learned_text $GATED "$GATE/inverted_xray.jpeg"
expect_grep "learned gate: the reason in text" \
    "^$GATE/inverted_xray.jpeg: not a frontal chest X-ray \\(inverted or turned" "$tmp/learned_text.out"

# ---------------------------------------------------------------- default model
# Without --model and $PNEUMONIA_MODEL: the nearest weights/pneumonia.safetensors
# in the program's directory or above, whatever the working directory.
mkdir -p "$tmp/checkout/build/bin" "$tmp/checkout/weights" "$tmp/elsewhere"
cp "$BUILD/bin/infer" "$tmp/checkout/build/bin/infer"
cp "$MODEL" "$tmp/checkout/weights/pneumonia.safetensors"
abs_png=$(pwd)/$PNG
run found_above env -u PNEUMONIA_MODEL sh -c 'cd "$1" && "$2" --threads 1 "$3"' _ \
    "$tmp/elsewhere" "$tmp/checkout/build/bin/infer" "$abs_png"
expect_eq "default model: found above the program, from another directory" "$(status found_above)" 0
cp "$BUILD/bin/infer" "$tmp/checkout/infer"
run found_beside env -u PNEUMONIA_MODEL sh -c 'cd "$1" && "$2" --threads 1 "$3"' _ \
    "$tmp/elsewhere" "$tmp/checkout/infer" "$abs_png"
expect_eq "default model: found beside the program" "$(status found_beside)" 0
rm "$tmp/checkout/weights/pneumonia.safetensors"
run not_found env -u PNEUMONIA_MODEL "$tmp/checkout/infer" "$abs_png"
expect_eq "default model: none: exit 1" "$(status not_found)" 1
expect_grep "default model: none: names where it looked" "cannot load the model: $tmp/checkout/weights/pneumonia.safetensors" "$tmp/not_found.err"

echo "infer_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
