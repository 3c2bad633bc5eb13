#!/bin/bash
# robustness_test.sh - the measurements of a model on what people upload:
#   1. trainer originals and trainer border-mass refuse bad usage (exit 2,
#      saying why) and list themselves in --help;
#   2. trainer originals on a small tree: identical copies give agreement 1
#      and |dp| 0; on a tree with a swapped original (a known
#      disagreement), an upscaled one, a flat image and an original without
#      a copy, every figure equals what an independent computation (Python)
#      makes of ./infer --json's answers for the same files; no copy at all
#      fails;
#   3. trainer border-mass --data measures exactly the validation images of
#      a training run with the same --val-fraction and --seed; the summary
#      agrees with its per-image CSV; the uniform reference follows --band;
#   4. test/ood_report.py counts hand-made infer --json answers as worked
#      out by hand (refused, errors, groups, rates) and fails on a missing
#      answer; on a generated set through ./infer every image is counted;
#   5. test/gen_ood_set.py makes the same set twice (same manifest), with
#      every category, and will not overwrite a folder that is not its own.
# Run from the repository root; BUILD selects build/opt or build/san.
set -euo pipefail

BUILD=${BUILD:-build/opt}
trainer=$BUILD/bin/trainer
infer=$BUILD/bin/infer
PY=/usr/bin/python3
fixture=test/fixtures/train/chest_xray_tiny
XN=test/fixtures/images/xray_normal_IM-0115-0001.jpeg
XP=test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg
tmp=$(mktemp -d /tmp/robustness_test.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
export CNN_THREADS=1 OPENBLAS_NUM_THREADS=1

errlog=$tmp/stderr.txt
: > "$errlog"
fail() { tail -n 30 "$errlog" >&2; echo "FAIL: $*" >&2; exit 1; }
# the value of a "key value" line
key() { awk -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }' "$2"; }
# usage error: exit status 2 and a message matching $1 on stderr
usage_error() {
    local want=$1 rc=0
    shift
    "$@" > /dev/null 2> "$tmp/err.txt" || rc=$?
    [ "$rc" -eq 2 ] || fail "$*: exit status $rc, expected 2"
    grep -q -- "$want" "$tmp/err.txt" || fail "$*: no '$want' in: $(cat "$tmp/err.txt")"
}

echo "-- 1. usage"
usage_error "are required" "$trainer" originals --model-file m --originals o
usage_error "unknown option" "$trainer" originals --model-file m --frobnicate 1
usage_error "unknown option or missing value: --copies" "$trainer" originals --copies
usage_error "threads" "$trainer" originals --model-file m --originals o --copies c --threads -1
usage_error "unexpected argument" "$trainer" originals --model-file m --originals o --copies c extra
usage_error "one of --data and --split" "$trainer" border-mass --model-file m
usage_error "one of --data and --split" "$trainer" border-mass --model-file m --data d --split s
for band in 0 0.5 -0.1 x ""; do
    usage_error "band" "$trainer" border-mass --model-file m --split s --band "$band"
done
usage_error "seed" "$trainer" border-mass --model-file m --data d --seed -3
usage_error "val-fraction" "$trainer" border-mass --model-file m --data d --val-fraction 1
"$trainer" originals --help > "$tmp/help.txt"
grep -q -- "--copies DIR" "$tmp/help.txt" || fail "originals --help"
"$trainer" border-mass --help > "$tmp/help.txt"
grep -q -- "--band F" "$tmp/help.txt" || fail "border-mass --help"
"$trainer" --help > "$tmp/help.txt"
grep -q "trainer originals" "$tmp/help.txt" && grep -q "trainer border-mass" "$tmp/help.txt" \
    || fail "trainer --help does not list originals and border-mass"

echo "-- 2. trainer originals"
"$BUILD/tools/make_model" --arch inception_v3 --input-size 75 --seed 1 \
    --out "$tmp/random.safetensors" > /dev/null
# The random model scores the two X-rays differently; a threshold between
# the scores (trainer calibrate: sensitivity 1 on the higher as PNEUMONIA)
# makes them two verdicts, so that swapping them is a known disagreement.
"$infer" --json --model "$tmp/random.safetensors" "$XN" "$XP" > "$tmp/scores.jsonl" 2>> "$errlog" || true
read -r lo hi < <($PY - "$tmp/scores.jsonl" <<'PY'
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert "probability" in a and "probability" in b, (a, b)
assert abs(a["probability"] - b["probability"]) > 1e-6, "equal scores"
print(*[o["file"] for o in sorted((a, b), key=lambda o: o["probability"])])
PY
) || fail "the random model does not score the two X-rays apart"
mkdir -p "$tmp/calib/NORMAL" "$tmp/calib/PNEUMONIA"
cp "$lo" "$tmp/calib/NORMAL/lo.jpeg"
cp "$hi" "$tmp/calib/PNEUMONIA/hi.jpeg"
"$trainer" calibrate --model-file "$tmp/random.safetensors" --split "$tmp/calib" \
    --min-per-class 1 --min-sensitivity 1 --threads 1 --out "$tmp/model.safetensors" \
    > /dev/null 2>> "$errlog" || fail "calibrate"
model=$tmp/model.safetensors

copies=$tmp/copies
originals=$tmp/originals
mkdir -p "$copies/NORMAL" "$copies/PNEUMONIA" "$originals/NORMAL" "$originals/PNEUMONIA"
cp "$lo" "$copies/NORMAL/a.jpeg"
cp "$hi" "$copies/PNEUMONIA/b.jpeg"
cp test/fixtures/images/resize_xray_299.png "$copies/PNEUMONIA/c.png"
cp "$lo" "$copies/NORMAL/not_in_originals.jpeg"
cp "$hi" "$originals/NORMAL/a.jpeg"              # swapped: a disagreement
$PY - "$hi" "$originals/PNEUMONIA/b.jpeg" "$originals/PNEUMONIA/c.png" <<'PY'
import sys
from PIL import Image
img = Image.open(sys.argv[1]).convert("L")
img.resize((448, 448), Image.BILINEAR).save(sys.argv[2], quality=95)  # "original"
Image.new("L", (300, 300), 128).save(sys.argv[3])                      # flat
PY
cp "$lo" "$originals/NORMAL/orphan.jpeg"           # no copy

echo "identical copies"
"$trainer" originals --model-file "$model" --originals "$copies" --copies "$copies" \
    --out "$tmp/same" --threads 1 > "$tmp/same.txt" 2>> "$errlog" || fail "originals on identical copies"
for k in agreement:1.000000 mean_abs_dp:0.000000 max_abs_dp:0.000000 disagreements:0 \
         pairs:4 unmatched:0; do
    got=$(key "${k%%:*}" "$tmp/same/originals.txt") || fail "no ${k%%:*}"
    [ "$got" = "${k#*:}" ] || fail "identical copies: ${k%%:*} $got, expected ${k#*:}"
done
cmp <(grep -v '^seconds' "$tmp/same/originals.txt") \
    <(sed -n '/^pairs /,/^seconds /p' "$tmp/same.txt" | grep -v '^seconds') \
    || fail "originals.txt differs from the key value lines printed"

echo "originals against copies, checked against ./infer --json"
"$trainer" originals --model-file "$model" --originals "$originals" --copies "$copies" \
    --out "$tmp/orig" --threads 1 > "$tmp/orig.txt" 2>> "$errlog" || fail "originals"
cat "$tmp/orig.txt"
# the pairs' files, as trainer originals pairs them
pairs=()
for f in NORMAL/a.jpeg PNEUMONIA/b.jpeg PNEUMONIA/c.png; do
    pairs+=("$originals/$f" "$copies/$f")
done
"$infer" --json --model "$model" "${pairs[@]}" > "$tmp/pairs.jsonl" 2>> "$errlog" || true
$PY - "$tmp/pairs.jsonl" "$tmp/orig/originals.txt" "$tmp/orig/originals.csv" <<'PY' || fail "trainer originals disagrees with ./infer"
import csv, json, sys
answers = [json.loads(l) for l in open(sys.argv[1])]
got = dict(l.split(" ", 1) for l in open(sys.argv[2]).read().splitlines())
rows = list(csv.DictReader(open(sys.argv[3])))
def outcome(o):
    return "REFUSED" if o["verdict"] == "NOT_A_CHEST_XRAY" else o["verdict"]
pairs = [(answers[i], answers[i + 1]) for i in range(0, len(answers), 2)]
assert len(pairs) == 3, answers
labels = ["NORMAL" if "/NORMAL/" in o["file"] else "PNEUMONIA" for o, _ in pairs]
agree = sum(outcome(o) == outcome(c) for o, c in pairs)
dps = [abs(o["probability"] - c["probability"]) for o, c in pairs
       if outcome(o) != "REFUSED" and outcome(c) != "REFUSED"]
def rate(k, cls):
    n = labels.count(cls)
    return sum(outcome(p[k]) == cls for p, l in zip(pairs, labels) if l == cls) / n
want = {
    "pairs": 3, "unmatched": 1, "agreement": agree / 3, "disagreements": 3 - agree,
    "flips_to_normal": sum(outcome(c) == "PNEUMONIA" and outcome(o) == "NORMAL" for o, c in pairs),
    "flips_to_pneumonia": sum(outcome(c) == "NORMAL" and outcome(o) == "PNEUMONIA" for o, c in pairs),
    "dp_pairs": len(dps), "mean_abs_dp": sum(dps) / len(dps), "max_abs_dp": max(dps),
    "originals_recall": rate(0, "PNEUMONIA"), "copies_recall": rate(1, "PNEUMONIA"),
    "originals_specificity": rate(0, "NORMAL"), "copies_specificity": rate(1, "NORMAL"),
    "originals_refused": sum(outcome(o) == "REFUSED" for o, _ in pairs),
    "copies_refused": sum(outcome(c) == "REFUSED" for _, c in pairs),
    "both_refused": sum(outcome(o) == outcome(c) == "REFUSED" for o, c in pairs),
}
assert want["disagreements"] >= 1, "the swapped pair should disagree"
bad = [f"{k}: trainer {got.get(k)}, ./infer {v}" for k, v in want.items()
       if k not in got or abs(float(got[k]) - v) > 2e-6]
assert not bad, bad
assert len(rows) == 3 and rows[0]["file"] == "a.jpeg" and rows[0]["class"] == "NORMAL", rows
assert rows[0]["agree"] == "0" and rows[0]["original_verdict"] != rows[0]["copy_verdict"], rows[0]
print("every figure matches ./infer:", {k: want[k] for k in ("agreement", "mean_abs_dp", "originals_refused")})
PY
grep -q "no copy of $originals/NORMAL/orphan.jpeg" "$errlog" || fail "the original without a copy is not named"
mkdir -p "$tmp/lonely/NORMAL" "$tmp/lonely/PNEUMONIA"
cp "$lo" "$tmp/lonely/NORMAL/orphan.jpeg"
cp "$lo" "$tmp/lonely/PNEUMONIA/orphan2.jpeg"
rc=0
"$trainer" originals --model-file "$model" --originals "$tmp/lonely" --copies "$copies" \
    --out "$tmp/lonely_out" > /dev/null 2> "$tmp/err.txt" || rc=$?
[ "$rc" -eq 1 ] && grep -q "none of the 2 images" "$tmp/err.txt" \
    || fail "originals without any copy: exit $rc, $(cat "$tmp/err.txt")"

echo "-- 3. trainer border-mass"
# a training run's validation split (predictions_val.csv) ...
"$trainer" --model inception_v3 --backbone "" --data "$fixture" --input-size 75 \
    --head-attach mixed0 --head-hidden 8 --batch-size 4 --val-fraction 0.3 --seed 11 \
    --epochs 1 --no-augment --threads 1 --out "$tmp/run" > /dev/null 2>> "$errlog" \
    || fail "training run"
# ... is the set border-mass --data measures with the same options
"$trainer" border-mass --model-file "$tmp/run/model.safetensors" --data "$fixture" \
    --val-fraction 0.3 --seed 11 --threads 1 --out "$tmp/bm_val" > "$tmp/bm_val.txt" \
    2>> "$errlog" || fail "border-mass --data"
cmp <(tail -n +2 "$tmp/run/predictions_val.csv" | cut -d, -f1 | sort) \
    <(tail -n +2 "$tmp/bm_val/border_mass.csv" | cut -d, -f1 | sort) \
    || fail "border-mass --data measured other images than the run's validation split"
n=$(key images "$tmp/bm_val/border_mass.txt")
echo "validation split: $n images, as in training"
"$trainer" border-mass --model-file "$tmp/run/model.safetensors" --data "$fixture" \
    --threads 1 --out "$tmp/bm_default" > /dev/null 2>> "$errlog" || fail "border-mass defaults"
[ "$(key images "$tmp/bm_default/border_mass.txt")" != "$n" ] \
    || fail "another --val-fraction gave the same number of images"

for band in 0.125 0.25; do
    "$trainer" border-mass --model-file "$model" --split "$copies" --band "$band" \
        --threads 1 --out "$tmp/bm_$band" > /dev/null 2>> "$errlog" || fail "border-mass --split"
done
[ "$(key uniform_share "$tmp/bm_0.125/border_mass.txt")" = 0.437500 ] || fail "uniform share at 0.125"
[ "$(key uniform_share "$tmp/bm_0.25/border_mass.txt")" = 0.750000 ] || fail "uniform share at 0.25"
for band in 0.125 0.25; do
    # mean and median of the CSV's shares, recomputed
    awk -F, 'NR > 1 && $4 != "" { print $4 }' "$tmp/bm_$band/border_mass.csv" | sort -g |
        awk '{ if ($1 < 0 || $1 > 1) bad = 1; v[++n] = $1; s += $1 }
             END { if (bad || n == 0) exit 1
                   m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
                   printf "%.6f %.6f %d\n", s / n, m, n }' \
        > "$tmp/recomputed.txt" || fail "shares outside [0, 1] or none"
    read -r mean median maps < "$tmp/recomputed.txt"
    summary="$(key border_mass_mean "$tmp/bm_$band/border_mass.txt") $(key border_mass_median "$tmp/bm_$band/border_mass.txt") $(key maps "$tmp/bm_$band/border_mass.txt")"
    # (the CSV's shares are rounded to 6 decimals)
    echo "$summary $mean $median $maps" | awk '{ d1 = $1 - $4; d2 = $2 - $5
        exit !(d1 < 2e-6 && d1 > -2e-6 && d2 < 2e-6 && d2 > -2e-6 && $3 == $6) }' \
        || fail "band $band: summary '$summary', CSV gives '$mean $median $maps'"
    echo "band $band: mean $mean, median $median over $maps maps"
done

echo "-- 4. test/ood_report.py"
fake=$tmp/fake_ood
mkdir -p "$fake/colour_photo" "$fake/synthetic" "$fake/xray_rotated"
touch "$fake/colour_photo/a.png" "$fake/colour_photo/b.png" "$fake/synthetic/c.png" \
      "$fake/xray_rotated/d.jpeg" "$fake/xray_rotated/e.jpeg" "$fake/manifest.tsv"
cat > "$tmp/fake.jsonl" <<EOF
{"file":"$fake/colour_photo/a.png","verdict":"NOT_A_CHEST_XRAY","reason":"colour image"}
{"file":"$fake/colour_photo/b.png","verdict":"PNEUMONIA","probability":0.99,"threshold":0.5}
{"file":"$fake/synthetic/c.png","verdict":"NORMAL","probability":0.1,"threshold":0.5}
{"file":"$fake/xray_rotated/d.jpeg","verdict":"NOT_A_CHEST_XRAY","reason":"not laid out like a chest X-ray"}
{"file":"$fake/xray_rotated/e.jpeg","error":"$fake/xray_rotated/e.jpeg: empty file"}
EOF
$PY test/ood_report.py "$fake" --json "$tmp/fake.jsonl" > "$tmp/fake.txt" || fail "ood_report on hand-made JSON"
for k in colour_photo.images:2 colour_photo.refused:1 colour_photo.pneumonia:1 \
         colour_photo.rejection_rate:0.500000 synthetic.normal:1 synthetic.rejection_rate:0.000000 \
         xray_rotated.errors:1 xray_rotated.rejection_rate:0.500000 non_xray.images:3 \
         non_xray.refused:1 non_xray.rejection_rate:0.333333 xray_transformed.refused:1 \
         all.images:5 all.refused:2 all.normal:1 all.pneumonia:1 all.errors:1 \
         all.rejection_rate:0.400000; do
    got=$(key "${k%%:*}" "$tmp/fake.txt") || fail "ood_report: no ${k%%:*}"
    [ "$got" = "${k#*:}" ] || fail "ood_report: ${k%%:*} $got, expected ${k#*:}"
done
head -n 4 "$tmp/fake.jsonl" > "$tmp/short.jsonl"
if $PY test/ood_report.py "$fake" --json "$tmp/short.jsonl" > /dev/null 2> "$tmp/err.txt"; then
    fail "ood_report accepted a missing answer"
fi
grep -q "no answer for 1 images" "$tmp/err.txt" || fail "ood_report: missing answer not named"

echo "-- 5. test/gen_ood_set.py, and the report through ./infer"
$PY test/gen_ood_set.py --out "$tmp/ood1" --originals "$fixture/train" --per-class 1 \
    > "$tmp/gen.txt" 2>> "$errlog" || fail "gen_ood_set"
cat "$tmp/gen.txt"
$PY test/gen_ood_set.py --out "$tmp/ood2" --originals "$fixture/train" --per-class 1 \
    > /dev/null 2>> "$errlog" || fail "gen_ood_set, second run"
cmp "$tmp/ood1/manifest.tsv" "$tmp/ood2/manifest.tsv" || fail "gen_ood_set is not deterministic"
for c in colour_photo grey_photo document graphics synthetic medical_other xray_inverted \
         xray_rotated xray_crop; do
    [ "$(awk -F'\t' -v c="$c" '$1 == c' "$tmp/ood1/manifest.tsv" | wc -l)" -gt 0 ] \
        || fail "gen_ood_set: no $c images"
done
[ "$(awk -F'\t' '$1 == "xray_inverted"' "$tmp/ood1/manifest.tsv" | wc -l)" -eq 2 ] \
    || fail "gen_ood_set: --per-class 1 should invert one X-ray of each class"
mkdir -p "$tmp/precious"
touch "$tmp/precious/keep.txt"
if $PY test/gen_ood_set.py --out "$tmp/precious" --originals "$fixture/train" \
       > /dev/null 2>&1; then
    fail "gen_ood_set overwrote a folder that was not an OOD set"
fi
[ -f "$tmp/precious/keep.txt" ] || fail "gen_ood_set deleted a file it does not own"
$PY test/ood_report.py "$tmp/ood1" --infer "$infer" --model "$model" --threads 1 \
    > "$tmp/ood.txt" 2>> "$errlog" || fail "ood_report through ./infer"
sed -n '1,/^$/p' "$tmp/ood.txt"
images=$(($(wc -l < "$tmp/ood1/manifest.tsv") - 1))
[ "$(key all.images "$tmp/ood.txt")" -eq "$images" ] || fail "not every image was counted"
sum=$(( $(key all.refused "$tmp/ood.txt") + $(key all.normal "$tmp/ood.txt") +
        $(key all.pneumonia "$tmp/ood.txt") ))
[ "$sum" -eq "$images" ] && [ "$(key all.errors "$tmp/ood.txt")" -eq 0 ] \
    || fail "refused + NORMAL + PNEUMONIA = $sum of $images images"
echo "robustness_test: all passed"
