#!/bin/bash
# tfjs2safetensors.sh - the converter program: --help, exit codes and error
# messages, and a conversion of the float32 fixture model with metadata and
# a listing. (Values are checked by test/test_tfjs.c.) Run from the
# repository root with BUILD set (make test does this).
set -euo pipefail
tool=${BUILD:-build/opt}/tools/tfjs2safetensors
fixture=test/fixtures/weights/tfjs_float32/model.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "tfjs2safetensors.sh: $*" >&2; exit 1; }

# expect CODE TEXT CMD...: exit status CODE and TEXT in stdout+stderr
expect() {
    local code=$1 text=$2
    shift 2
    local out status=0
    out=$("$@" 2>&1) || status=$?
    [ "$status" -eq "$code" ] || fail "'$*' exited $status, want $code: $out"
    grep -qF -- "$text" <<<"$out" || fail "'$*' does not say '$text': $out"
}

expect 0 "usage: tfjs2safetensors" "$tool" --help
expect 2 "need MODEL_JSON and OUTPUT" "$tool"
expect 2 "unknown option '--nope'" "$tool" --nope a b
expect 2 "--meta wants KEY=VALUE" "$tool" --meta novalue "$fixture" "$tmp/x.safetensors"
expect 2 "--list needs a value" "$tool" "$fixture" "$tmp/x.safetensors" --list
expect 2 "too many arguments" "$tool" a b c
expect 1 "cannot open" "$tool" "$tmp/missing.json" "$tmp/x.safetensors"
printf '{"weightsManifest": [' >"$tmp/bad.json"
expect 1 "not valid JSON" "$tool" "$tmp/bad.json" "$tmp/x.safetensors"
expect 1 "cannot create a temporary file" "$tool" "$fixture" "$tmp/no/such/dir/x.safetensors"
[ ! -e "$tmp/x.safetensors" ] || fail "an output was written after an error"

expect 0 "9 tensors" "$tool" --meta architecture=test --meta "note=a b=c" \
    --list "$tmp/list.json" "$fixture" "$tmp/out.safetensors"
[ -s "$tmp/out.safetensors" ] || fail "no output"
grep -qa '"architecture":"test"' "$tmp/out.safetensors" || fail "metadata missing"
grep -qa '"note":"a b=c"' "$tmp/out.safetensors" || fail "metadata value with '=' mangled"
grep -qF '{"name":"conv2d_1/kernel","class":"Conv2D","shape":[4,2,2,3]}' "$tmp/list.json" ||
    fail "listing lacks the transposed conv kernel: $(cat "$tmp/list.json")"
[ "$(grep -c '"name"' "$tmp/list.json")" -eq 9 ] || fail "listing has not 9 entries"
[ -z "$(ls "$tmp" | grep -v -e '^out.safetensors$' -e '^list.json$' -e '^bad.json$')" ] ||
    fail "temporary files left: $(ls "$tmp")"
echo "tfjs2safetensors.sh: ok"
