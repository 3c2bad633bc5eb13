#!/bin/bash
# fetch_nsfwjs.sh - the pretrained InceptionV3 backbone (see weights/README.md):
#   1. npm pack nsfwjs@4.4.0 into weights/cache/ (skipped when cached),
#   2. check the tarball's sha256 against the pinned value,
#   3. extract dist/models/inception_v3/ and unwrap its JS modules into
#      model.json + weight shards (tools/nsfwjs_unwrap.js, node),
#   4. convert with tfjs2safetensors into OUTPUT, with metadata, plus a listing
#      of tensor names and shapes in OUTPUT without .safetensors + .tensors.json.
# usage: tools/fetch_nsfwjs.sh TFJS2SAFETENSORS OUTPUT
set -euo pipefail

PACKAGE=nsfwjs
VERSION=4.4.0
SHA256=585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382

if [ $# -ne 2 ]; then
    echo "usage: $0 TFJS2SAFETENSORS OUTPUT" >&2
    exit 2
fi
converter=$1
output=$2
cd "$(dirname "$0")/.."
cache=weights/cache
tarball=$cache/$PACKAGE-$VERSION.tgz
work=$cache/$PACKAGE-$VERSION

for tool in node npm sha256sum tar; do
    command -v "$tool" >/dev/null || { echo "fetch_nsfwjs: '$tool' is needed" >&2; exit 1; }
done
mkdir -p "$cache"

if [ ! -f "$tarball" ]; then
    echo "fetch_nsfwjs: npm pack $PACKAGE@$VERSION"
    (cd "$cache" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
fi
actual=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$actual" != "$SHA256" ]; then
    mv -f "$tarball" "$tarball.bad"
    echo "fetch_nsfwjs: $tarball has sha256 $actual, expected $SHA256" >&2
    echo "fetch_nsfwjs: moved it to $tarball.bad; not using it" >&2
    exit 1
fi

rm -rf "$work"
mkdir -p "$work"
tar -xzf "$tarball" -C "$work" package/LICENSE package/package.json \
    package/dist/models/inception_v3
node tools/nsfwjs_unwrap.js "$work/package/dist/models/inception_v3" "$work/tfjs"

"$converter" \
    --meta architecture=inception_v3 \
    --meta name="InceptionV3 nsfwjs (ImageNet-initialized, 5 classes)" \
    --meta version="nsfwjs-$VERSION" \
    --meta head=nsfwjs \
    --meta input_size=299 \
    --meta backbone_min_input_size=75 \
    --meta preprocessing=unit \
    --meta preprocessing_formula="x / 255, RGB, channels last in Keras (ours: NCHW)" \
    --meta class_names=Drawing,Hentai,Neutral,Porn,Sexy \
    --meta layout="conv kernels [out,in,kh,kw], dense kernels [out,in] (transposed from Keras)" \
    --meta provenance="npm package $PACKAGE@$VERSION (tarball sha256 $SHA256), dist/models/inception_v3: Keras InceptionV3 initialized from ImageNet and fine-tuned by Infinite Red on 5 classes; stored uint8-quantized (per-tensor min/scale), dequantized to float32 by tools/tfjs2safetensors" \
    --meta license="MIT (Copyright (c) 2019 Infinite Red, Inc.); Keras InceptionV3 architecture Apache-2.0" \
    --meta source_package="$PACKAGE" \
    --meta source_version="$VERSION" \
    --meta source_sha256="$SHA256" \
    --list "${output%.safetensors}.tensors.json" \
    "$work/tfjs/model.json" "$output"
# The unwrapped copy is not needed any more; the tarball stays cached.
rm -rf "$work"
