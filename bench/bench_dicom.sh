#!/bin/bash
# bench_dicom.sh - decode time of a 2500x2048 16-bit JPEG-lossless DICOM (a
# detector-sized chest X-ray) against the PNG path with the same pixels (a
# 16-bit grey PNG), both through cnn_image_decode from memory.
# The inputs are made here from the fixture X-ray (upscaled, 16 bits used):
# needs python3-pydicom, numpy, Pillow and DCMTK's dcmcjpeg (Debian: dcmtk).
#   BUILD=build/opt bash bench/bench_dicom.sh      (make bench-dicom)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/opt}
if ! command -v dcmcjpeg >/dev/null || ! /usr/bin/python3 -c 'import pydicom, numpy, PIL' 2>/dev/null; then
    echo "bench_dicom: skipped (needs dcmtk, python3-pydicom, python3-numpy, python3-pil)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
w, h = 2500, 2048
im = Image.open("test/fixtures/images/xray_normal_IM-0115-0001.jpeg").convert("L")
a = np.asarray(im.convert("F").resize((w, h), Image.BICUBIC), np.float64)
rng = np.random.default_rng(0)
v = np.clip(a * 256 + rng.normal(0, 40, a.shape), 0, 65535).astype(np.uint16)
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset()
ds.file_meta = meta
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "CHEST", "PA"
ds.Rows, ds.Columns = h, w
ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
ds.WindowCenter, ds.WindowWidth = "32768", "60000"
ds.PixelData = v.tobytes()
ds["PixelData"].VR = "OW"
ds.save_as(out + "/raw.dcm", write_like_original=False)
# The PNG path's input: the same values as a 16-bit grey PNG.
Image.fromarray(v.astype(np.int32)).convert("I;16").save(out + "/chest_2500x2048_16bit.png")
PY
dcmcjpeg +e1 "$tmp/raw.dcm" "$tmp/chest_2500x2048_16bit_jpeg_lossless.dcm"
bench=$(pwd)/$BUILD/bench/bench_decode
cd "$tmp"
"$bench" chest_2500x2048_16bit_jpeg_lossless.dcm chest_2500x2048_16bit.png
