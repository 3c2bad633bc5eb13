#!/usr/bin/python3
"""gen_fixtures_dicom.py - the DICOM fixtures of the decoder tests.

Writes test/fixtures/dicom/*.dcm, the expected 8-bit pixels of each as an
image in test/fixtures/dicom/expected/ (PNG written by Pillow; for the JPEG
baseline fixtures the JPEG they hold), listed in test/fixtures/dicom/
expected.txt ("FIXTURE REFERENCE" per line; fixtures with the same expected
pixels share one file), and a few of them as the fuzzer's seeds
(fuzz/corpus/dicom/). Run from the repository
root with Debian's python3 (numpy, Pillow, python3-pydicom) and DCMTK's
command-line tools (Debian package dcmtk: img2dcm, dcmconv, dcmcjpeg,
dcmdjpeg, dcmcjpls, dcmdjpls, dcmcrle):

    /usr/bin/python3 test/gen_fixtures_dicom.py

Every image is the project's normal fixture X-ray (test/fixtures/images/
xray_normal_IM-0115-0001.jpeg) scaled to 152x152 grey (above the input
gate's 150-pixel minimum, small enough to commit), stored as the variant
needs: pydicom writes the native data sets, the DCMTK tools convert them to
the other transfer syntaxes.

The expected pixels are an independent decode: pydicom reads the stored
values (its own parser, and its own RLE and Pillow-based JPEG baseline
decoders), numpy applies the rendering rules of lib/dicom.h from the DICOM
standard (Modality LUT; the first window by the linear formula of PS3.3
C.11.2.1.2.1, truncated to 8 bits, else the VOI LUT's output range or the
full BitsStored range in 256 equal bins; MONOCHROME1, or MONOCHROME2 with
an INVERSE Presentation LUT Shape, inverted as 255 - v). The lossless JPEG and
JPEG-LS fixtures are expected to equal the native data set they were made
from; for the lossy JPEG extended and JPEG-LS near-lossless ones, DCMTK's
dcmdjpeg/dcmdjpls decompress and pydicom + numpy render.

Every fixture carries made-up patient data (PatientName DOE^JANE,
PatientID SECRET-ID-12345, PatientBirthDate 19700101), which the tests check
never shows up in any output.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from pydicom.uid import (ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                         JPEG2000Lossless, JPEGBaseline8Bit, RLELossless,
                         generate_uid)


OUT = "test/fixtures/dicom"
SEEDS = "fuzz/corpus/dicom"
SOURCE = "test/fixtures/images/xray_normal_IM-0115-0001.jpeg"
SIDE = 152
UID_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's root; fixed per name below
DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image - For Presentation
CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
PATIENT = {"PatientName": "DOE^JANE", "PatientID": "SECRET-ID-12345",
           "PatientBirthDate": "19700101", "PatientSex": "F"}

tmp = tempfile.mkdtemp(prefix="gen_fixtures_dicom.")


def run(*args):
    subprocess.run(args, check=True)


def uid(name, kind):
    return generate_uid(UID_ROOT, [name, kind])


# ------------------------------------------------------------------ sources


def base_grey():
    """The fixture X-ray as 152x152 8-bit grey (Pillow's default resize)."""
    im = Image.open(SOURCE).convert("L").resize((SIDE, SIDE))
    return np.asarray(im).astype(np.int64)


def stored_12bit():
    """The same resize in floating point, as 12-bit stored values 500..3560
    (every level used, as a detector's would be)."""
    im = Image.open(SOURCE).convert("L").convert("F").resize((SIDE, SIDE))
    return np.clip(np.round(np.asarray(im, np.float64) * 12 + 500), 0, 4095).astype(np.int64)


# ------------------------------------------------------------------ writing


def dataset(name, pixels, *, bits_stored, signed=False, photometric="MONOCHROME2",
            modality="DX", body_part="CHEST", view="PA", frames=None, extra=None):
    """A native explicit-VR little-endian data set; pixels [frames,]h,w[,3]."""
    meta = FileMetaDataset()
    sop_class = CR_STORAGE if modality == "CR" else DX_STORAGE
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid(name, "sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID_ROOT + "1"
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid(name, "study")
    ds.SeriesInstanceUID = uid(name, "series")
    ds.StudyDate = "20240102"
    for k, v in PATIENT.items():
        setattr(ds, k, v)
    if modality:
        ds.Modality = modality
    if body_part:
        ds.BodyPartExamined = body_part
    if view:
        ds.ViewPosition = view
    colour = photometric in ("RGB", "YBR_FULL")
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric
    if colour:
        ds.PlanarConfiguration = 0
    if frames:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if colour else pixels.shape[-2:]
    allocated = 8 if bits_stored <= 8 else 16
    ds.BitsAllocated = allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    dtype = {(8, False): "<u1", (16, False): "<u2", (16, True): "<i2"}[(allocated, signed)]
    ds.PixelData = np.ascontiguousarray(pixels).astype(dtype).tobytes()
    ds["PixelData"].VR = "OB" if allocated == 8 else "OW"
    if not modality:
        pass
    for k, v in (extra or {}).items():
        setattr(ds, k, v)
    return ds


def save(ds, path):
    ds.save_as(path, write_like_original=False)


def convert(tool, src, dst, *opts):
    run(tool, *opts, src, dst)


# ------------------------------------------------------------------ reference


def first_frame(ds):
    a = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames > 1:
        a = a[0]
    return a


def render(ds, stored=None):
    """Expected 8-bit output [c, h, w] of ds (stored values from ds unless
    given): the rules of lib/dicom.h, written from the DICOM standard
    (PS3.3 C.11.1, C.11.2, C.7.6.3.1.2)."""
    if stored is None:
        stored = first_frame(ds)
    pi = ds.PhotometricInterpretation
    if pi in ("RGB", "YBR_FULL", "YBR_FULL_422"):
        return np.transpose(stored.astype(np.float64), (2, 0, 1)).astype(np.float32)
    x = stored.astype(np.float64)
    bits = int(ds.BitsStored)
    if int(ds.PixelRepresentation) == 1:
        lo, hi = -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1
    else:
        lo, hi = 0.0, 2.0 ** bits - 1
    if "RescaleSlope" in ds:
        slope, icpt = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        x = np.trunc(x * slope + icpt)  # integer modality values
        lo, hi = sorted((lo * slope + icpt, hi * slope + icpt))
    if "WindowCenter" in ds:
        # The linear window of C.11.2.1.2.1, truncated to 8 bits.
        c = float(np.atleast_1d(ds.WindowCenter)[0])
        w = float(np.atleast_1d(ds.WindowWidth)[0])
        y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
        y = np.where(x <= c - 0.5 - (w - 1) / 2, 0, y)
        y = np.where(x > c - 0.5 + (w - 1) / 2, 255, y)
    elif "VOILUTSequence" in ds:
        # The LUT's output range (0 .. 2^bits - 1) in 256 equal bins.
        item = ds.VOILUTSequence[0]
        n, first, lut_bits = [int(v) for v in item.LUTDescriptor]
        lut = np.asarray(item.LUTData, np.float64)
        n = n or 65536
        idx = np.clip(x - first, 0, n - 1).astype(np.int64)
        y = lut[idx] * 256 / 2.0 ** lut_bits
    else:
        # The full range lo..hi in 256 equal bins.
        y = (x - lo) * 256 / (hi - lo + 1)
    y = np.floor(np.clip(y, 0, 255) + 1e-9)
    # Bone bright: MONOCHROME1 always inverted; MONOCHROME2 when its
    # Presentation LUT Shape is INVERSE (on the 8-bit values).
    if pi == "MONOCHROME1" or getattr(ds, "PresentationLUTShape", "") == "INVERSE":
        y = 255 - y
    return y[None].astype(np.float32)


def decompressed(tool, path):
    """ds of path decompressed by a DCMTK tool (for lossy fixtures)."""
    out = os.path.join(tmp, "d_" + os.path.basename(path))
    run(tool, path, out)
    return pydicom.dcmread(out)


# ------------------------------------------------------------------ fixtures


def make(golden):
    v8 = base_grey()
    s12 = stored_12bit()
    window = {"WindowCenter": "2000", "WindowWidth": "3000"}
    files = {}

    def write(name, ds):
        path = f"{OUT}/{name}.dcm"
        save(ds, path)
        files[name] = path
        return path

    def derive(name, src, tool, *opts):
        path = f"{OUT}/{name}.dcm"
        convert(tool, files[src], path, *opts)
        files[name] = path
        return path

    def scratch(name, ds):
        path = os.path.join(tmp, name + ".dcm")
        save(ds, path)
        files[name] = path
        return path

    # Native, explicit VR little endian.
    p = write("mono2_8bit", dataset("mono2_8bit", v8, bits_stored=8, modality="CR"))
    golden["mono2_8bit"] = render(pydicom.dcmread(p))
    # Implicit VR without preamble or meta header.
    p = derive("implicit_no_preamble", "mono2_8bit", "dcmconv", "+ti", "-F")
    ds = pydicom.dcmread(p, force=True)  # a bare data set: say how it is encoded
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    golden["implicit_no_preamble"] = render(ds)

    # Pixel semantics, stored deflated (dcmconv +td) to keep them small.
    def deflated(name, ds):
        src = scratch(name + "_native", ds)
        p = f"{OUT}/{name}.dcm"
        convert("dcmconv", src, p, "+td", "+cl", "9")
        files[name] = p
        golden[name] = render(pydicom.dcmread(p))
        return p

    deflated("mono2_12bit_window",
             dataset("mono2_12bit_window", s12, bits_stored=12, extra=window))
    # Explicit VR big endian (16-bit samples: the byte order matters).
    p = derive("big_endian", "mono2_12bit_window", "dcmconv", "+tb")
    golden["big_endian"] = render(pydicom.dcmread(p))

    deflated("mono1_12bit_window",
             dataset("mono1_12bit_window", 4095 - s12, bits_stored=12,
                     photometric="MONOCHROME1",
                     extra={"WindowCenter": "2095", "WindowWidth": "3000"}))
    deflated("mono1_identity_shape",  # contradictory; still bone bright
             dataset("mono1_identity_shape", 255 - v8, bits_stored=8,
                     photometric="MONOCHROME1",
                     extra={"PresentationLUTShape": "IDENTITY"}))
    deflated("mono2_inverse_shape",  # stored negative, shown inverted
             dataset("mono2_inverse_shape", 255 - v8, bits_stored=8,
                     extra={"PresentationLUTShape": "INVERSE"}))
    deflated("mono2_12bit_full_range",
             dataset("mono2_12bit_full_range", s12, bits_stored=12))
    # Modality values 2*stored - 1024 (= s12 + (s12 % 2)): the window is in
    # modality units.
    deflated("rescale_slope",
             dataset("rescale_slope", (s12 + 1024 + 1) // 2, bits_stored=12,
                     extra={"RescaleSlope": "2", "RescaleIntercept": "-1024",
                            "RescaleType": "US", **window}))
    # Signed: the 8-bit grey in the high byte (-32704..32576); a constant low
    # byte keeps the RLE fixture small.
    s16 = (v8 - 128) * 256 + 64
    deflated("signed_16bit",
             dataset("signed_16bit", s16, bits_stored=16, signed=True,
                     extra={"WindowCenter": "0", "WindowWidth": "60000"}))
    lut = np.round(4095 * (np.arange(4096) / 4095.0) ** 0.6).astype(np.uint16)
    voi = Dataset()
    voi.LUTDescriptor = [4096, 0, 12]
    voi.LUTData = lut.tolist()
    voi["LUTData"].VR = "US"
    voi.LUTExplanation = "gamma 0.6"
    deflated("voi_lut",
             dataset("voi_lut", s12, bits_stored=12,
                     extra={"VOILUTSequence": pydicom.Sequence([voi])}))
    tint = np.stack([v8, np.clip(v8 * 0.98 + 3, 0, 255), np.clip(v8 * 0.95 + 6, 0, 255)], 2)
    deflated("rgb", dataset("rgb", np.round(tint), bits_stored=8, photometric="RGB"))
    frames = np.stack([v8, np.zeros_like(v8), np.full_like(v8, 255)])
    deflated("multiframe", dataset("multiframe", frames, bits_stored=8, frames=3))
    deflated("lateral", dataset("lateral", v8, bits_stored=8, view="LL"))
    deflated("non_chest", dataset("non_chest", v8, bits_stored=8, body_part="SKULL"))
    deflated("modality_ct", dataset("modality_ct", v8, bits_stored=8,
                                    modality="CT", body_part="CHEST", view=""))

    # Compressed transfer syntaxes. Lossless ones must give the pixels of
    # their source; RLE is also decoded by pydicom's own RLE decoder.
    p = derive("jpeg_lossless", "mono2_12bit_window", "dcmcjpeg", "+e1", "+un")
    golden["jpeg_lossless"] = golden["mono2_12bit_window"]
    p = derive("jpegls_lossless", "mono2_12bit_window", "dcmcjpls", "+el")
    golden["jpegls_lossless"] = golden["mono2_12bit_window"]
    p = derive("rle_signed_16bit", "signed_16bit", "dcmcrle")
    golden["rle_signed_16bit"] = render(pydicom.dcmread(p))
    assert np.array_equal(golden["rle_signed_16bit"], golden["signed_16bit"])
    # Lossy: decompressed by the toolkit, rendered here.
    p = derive("jpeg_extended_12bit", "mono2_12bit_window", "dcmcjpeg", "+ee", "+un")
    golden["jpeg_extended_12bit"] = render(decompressed("dcmdjpeg", p))
    p = derive("jpegls_near_lossless", "mono2_12bit_window", "dcmcjpls", "+en", "+un")
    golden["jpegls_near_lossless"] = render(decompressed("dcmdjpls", p))
    # JPEG baseline: grey from dcmcjpeg, and img2dcm's wrapping of the
    # project's RGB X-ray JPEG (YBR_FULL_422); both decoded by Pillow.
    p = derive("jpeg_baseline", "mono2_8bit", "dcmcjpeg", "+eb", "+un")
    ds = pydicom.dcmread(p)
    frame = next(generate_pixel_data_frame(ds.PixelData))
    with open(f"{OUT}/expected/jpeg_baseline.jpeg", "wb") as f:
        f.write(frame)  # its pixels as Pillow (and libjpeg-turbo) decode them
    golden["jpeg_baseline"] = "expected/jpeg_baseline.jpeg"
    check = render(ds, np.asarray(Image.open(_bytes_io(frame))))
    assert np.array_equal(check[0], np.asarray(Image.open(_bytes_io(frame))))
    p = f"{OUT}/jpeg_baseline_ybr.dcm"
    keys = [f"{k}={v}" for k, v in PATIENT.items()]
    keys += ["Modality=DX", "BodyPartExamined=CHEST", "ViewPosition=AP",
             "StudyInstanceUID=" + uid("ybr", "study"),
             "SeriesInstanceUID=" + uid("ybr", "series"),
             "SOPInstanceUID=" + uid("ybr", "sop"),
             "InstanceCreationDate=20240102", "InstanceCreationTime=120000",
             "StudyDate=20240102"]
    args = ["img2dcm", "-q", "-i", "JPEG"]
    for k in keys:
        args += ["-k", k]
    run(*args, SOURCE, p)
    files["jpeg_baseline_ybr"] = p
    ds = pydicom.dcmread(p)
    assert ds.PhotometricInterpretation == "YBR_FULL_422", ds.PhotometricInterpretation
    golden["jpeg_baseline_ybr"] = "../images/" + os.path.basename(SOURCE)
    return files


def _bytes_io(b):
    import io
    return io.BytesIO(b)


def make_malformed():
    """Tiny broken files (16x16 12-bit source): each must get a clear error."""
    rng = np.random.default_rng(16)
    tiny = rng.integers(0, 4096, size=(16, 16))
    ds = dataset("tiny", tiny, bits_stored=12, modality="CR")
    src = os.path.join(tmp, "tiny.dcm")
    save(ds, src)
    data = open(src, "rb").read()

    def put(name, b):
        with open(f"{OUT}/bad_{name}.dcm", "wb") as f:
            f.write(b)

    def put_saved(name, d):
        path = os.path.join(tmp, name + ".dcm")
        save(d, path)
        put(name, open(path, "rb").read())

    def encapsulated(d, syntax, fragment):
        """d with one fragment of encapsulated pixel data under syntax."""
        d.file_meta.TransferSyntaxUID = syntax
        d.PixelData = encapsulate([fragment])
        d["PixelData"].VR = "OB"
        d["PixelData"].is_undefined_length = True
        return d

    put("truncated", data[:-200])            # cut inside the pixel data
    put("truncated_header", data[:300])      # cut inside the header
    # Modality "CR": its 2-byte length (explicit VR) now claims 65280 bytes.
    at = data.find(b"\x08\x00\x60\x00CS")
    assert at > 0
    put("bad_length", data[:at + 6] + b"\x00\xff" + data[at + 8:])
    huge = dataset("huge", tiny, bits_stored=12, modality="CR")
    huge.Rows = huge.Columns = 65535
    put_saved("huge_dimensions", huge)
    short = dataset("short", tiny, bits_stored=12, modality="CR")
    short.Rows = short.Columns = 64
    put_saved("short_pixel_data", short)
    nopix = dataset("nopix", tiny, bits_stored=12, modality="CR")
    del nopix.PixelData
    put_saved("no_pixel_data", nopix)
    # JPEG 2000, which Debian's DCMTK cannot decode.
    put_saved("jpeg2000", encapsulated(dataset("j2k", tiny, bits_stored=12, modality="CR"),
                                       JPEG2000Lossless, b"\xff\x4f\xff\x51" + bytes(60)))
    # JPEG baseline whose fragment has a TEM marker (0xFF01) after SOI:
    # DCMTK's scan of it for the bit depth never ends (found by fuzz/dicom).
    tem = dataset("tem", (tiny >> 4).astype(np.uint8), bits_stored=8, modality="CR")
    put_saved("jpeg_tem_marker", encapsulated(tem, JPEGBaseline8Bit,
                                              b"\xff\xd8\xff\x01" + bytes(60)))
    # RLE whose second segment offset points far past the fragment: DCMTK's
    # decoder reads there (a crash; found by fuzz/dicom).
    header = np.zeros(16, dtype="<u4")
    header[:3] = [2, 64, 0x04000142]
    put_saved("rle_offsets", encapsulated(dataset("rle_bad", tiny, bits_stored=12, modality="CR"),
                                          RLELossless, header.tobytes() + bytes(530)))
    # Starts like a group-0008 element but is no DICOM data set.
    put("garbage", b"\x08\x00\x05\x00" + bytes(rng.integers(0, 256, 60, dtype=np.uint8)))


def make_seeds():
    """The fuzzer's seeds: the X-ray at 16x16 in each transfer syntax and
    pixel variant (small inputs mutate quickly), and two broken files."""
    shutil.rmtree(SEEDS, ignore_errors=True)
    os.makedirs(SEEDS)
    im = Image.open(SOURCE).convert("L")
    v8 = np.asarray(im.resize((16, 16))).astype(np.int64)
    s12 = v8 * 12 + 500
    window = {"WindowCenter": "2000", "WindowWidth": "3000"}

    def seed(name, ds):
        path = os.path.join(tmp, f"seed_{name}.dcm")
        save(ds, path)
        return path

    base = seed("mono2_12bit", dataset("s", s12, bits_stored=12, extra=window))
    shutil.copyfile(base, f"{SEEDS}/mono2_12bit_window.dcm")
    for name, tool, opts in (("big_endian", "dcmconv", ["+tb"]),
                             ("deflated", "dcmconv", ["+td"]),
                             ("implicit_no_meta", "dcmconv", ["+ti", "-F"]),
                             ("jpeg_lossless", "dcmcjpeg", ["+e1", "+un"]),
                             ("jpeg_extended", "dcmcjpeg", ["+ee", "+un"]),
                             ("jpegls_lossless", "dcmcjpls", ["+el"]),
                             ("jpegls_near_lossless", "dcmcjpls", ["+en", "+un"]),
                             ("rle", "dcmcrle", [])):
        convert(tool, base, f"{SEEDS}/{name}.dcm", *opts)
    mono8 = seed("mono8", dataset("s", v8, bits_stored=8))
    convert("dcmcjpeg", mono8, f"{SEEDS}/jpeg_baseline.dcm", "+eb", "+un")
    rgb = np.stack([v8, v8, np.clip(v8 + 4, 0, 255)], 2)
    rgb_path = seed("rgb", dataset("s", rgb, bits_stored=8, photometric="RGB"))
    shutil.copyfile(rgb_path, f"{SEEDS}/rgb.dcm")
    convert("dcmcjpeg", rgb_path, f"{SEEDS}/jpeg_baseline_ybr.dcm", "+eb", "+un")
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 12]
    lut.LUTData = list(range(0, 4096, 1))
    lut["LUTData"].VR = "US"
    shutil.copyfile(seed("mono1", dataset("s", 4095 - s12, bits_stored=12,
                                          photometric="MONOCHROME1",
                                          extra={"VOILUTSequence": pydicom.Sequence([lut]),
                                                 "RescaleSlope": "1",
                                                 "RescaleIntercept": "0"})),
                    f"{SEEDS}/mono1_voi_lut.dcm")
    shutil.copyfile(seed("signed", dataset("s", (s12 - 2000) * 12, bits_stored=16,
                                           signed=True, frames=None)),
                    f"{SEEDS}/signed_16bit.dcm")
    shutil.copyfile(seed("frames", dataset("s", np.stack([v8, v8]), bits_stored=8,
                                           frames=2)),
                    f"{SEEDS}/multiframe.dcm")
    for name in ("truncated", "jpeg2000"):
        shutil.copyfile(f"{OUT}/bad_{name}.dcm", f"{SEEDS}/bad_{name}.dcm")


def write_expected(golden):
    """Each expected image once (as PNG, named after its first fixture) and
    expected.txt, the fixture -> reference list."""
    written = []  # (array, relative path)
    lines = []
    for name, ref in golden.items():
        if isinstance(ref, str):
            lines.append(f"{name} {ref}")
            continue
        a = np.clip(ref, 0, 255).astype(np.uint8)
        for other, rel in written:
            if other.shape == a.shape and np.array_equal(other, a):
                break
        else:
            rel = f"expected/{name}.png"
            im = Image.fromarray(a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0)))
            im.save(f"{OUT}/{rel}", optimize=True)
            written.append((a, rel))
        lines.append(f"{name} {rel}")
    with open(f"{OUT}/expected.txt", "w") as f:
        f.write("# fixture  expected 8-bit pixels (test/gen_fixtures_dicom.py)\n")
        f.write("\n".join(lines) + "\n")


def main():
    for tool in ("img2dcm", "dcmconv", "dcmcjpeg", "dcmdjpeg", "dcmcjpls",
                 "dcmdjpls", "dcmcrle"):
        if not shutil.which(tool):
            sys.exit(f"gen_fixtures_dicom: {tool} missing (apt-get install dcmtk)")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT + "/expected")
    golden = {}
    files = make(golden)
    make_malformed()
    write_expected(golden)
    make_seeds()
    shutil.rmtree(tmp)
    sizes = [os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs]
    print(f"gen_fixtures_dicom: {len(sizes)} files, {sum(sizes)} bytes in {OUT}")


if __name__ == "__main__":
    main()
