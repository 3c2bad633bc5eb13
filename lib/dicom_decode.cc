// dicom_decode.cc - DICOM decoding with DCMTK behind the C interface of
// dicom.h. The only C++ file of the library: every DCMTK type stays in here,
// every DCMTK failure (conditions, image status, exceptions) becomes a
// cnn_error.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include <zlib.h>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dccodec.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmimage/diregist.h" // colour images (RGB, YBR, ...)
#include "dcmtk/dcmimgle/dcmimage.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include "dicom.h"

// ------------------------------------------------------------------ set-up

static pthread_once_t dcmtk_once = PTHREAD_ONCE_INIT;

// Once per process: DCMTK's logger off (its messages would go to the
// console, and problems reach the caller as cnn_error anyway), and the
// decoders of the compressed transfer syntaxes registered.
static void dcmtk_init(void)
{
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    OFLog::getLogger("dcmtk").setLogLevel(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();   // JPEG baseline/extended/lossless
    DJLSDecoderRegistration::registerCodecs(); // JPEG-LS
    DcmRLEDecoderRegistration::registerCodecs();
}

// ------------------------------------------------------------------ fragments DCMTK mishandles

// Debian's DCMTK (3.6.7) trusts two things in encapsulated pixel data that
// fuzz/dicom showed a hostile file can break; each fragment is checked
// before DCMTK decodes it.

// JPEG: before it decodes a frame, DCMTK walks the frame's first fragment
// marker by marker for the frame header's bit depth
// (DJCodecDecoder::scanJpegDataForBitDepth), and that walk never moves past
// a TEM marker (0xFF01): the process hangs. This walks the fragment the same
// way and says whether it would reach one.
static int jpeg_walk_reaches_tem(const Uint8 *data, Uint32 length)
{
    uint64_t at = 0;
    while (at + 4 < length) {
        const unsigned marker = (unsigned)data[at] << 8 | data[at + 1];
        const unsigned segment = (unsigned)data[at + 2] << 8 | data[at + 3];
        if (marker == 0xff01)
            return 1;
        if (marker >= 0xffc0 && marker <= 0xffcf && marker != 0xffc4 &&
            marker != 0xffc8 && marker != 0xffcc)
            return 0; // a frame header: the walk ends
        if (marker >= 0xffd0 && marker <= 0xffd9)
            at += 2; // RSTn, SOI, EOI
        else if (marker == 0xffff)
            at += 1; // fill byte
        else if (marker >= 0xffc4 && marker <= 0xfffe)
            at += segment + 2; // a segment with its length
        else if (data[at] == 0xff && data[at + 1] > 2 && data[at + 1] <= 0xbf)
            at += 2; // reserved markers
        else
            return 0; // not a marker: the walk ends
    }
    return 0;
}

static Uint32 read_le32(const Uint8 *p)
{
    return (Uint32)p[0] | (Uint32)p[1] << 8 | (Uint32)p[2] << 16 | (Uint32)p[3] << 24;
}

// RLE (PS3.5 annex G; one frame per fragment): a 64-byte header of the
// segment count (1 to 15) and 15 segment offsets, the first 64. DCMTK's
// decoder reads each segment from its offset without checking it against
// the fragment's length (a read out of bounds: a crash). Whether the
// header is one DCMTK can follow safely: offsets rising and inside.
static int rle_header_valid(const Uint8 *data, Uint32 length)
{
    if (length < 64)
        return 0;
    const Uint32 segments = read_le32(data);
    if (segments < 1 || segments > 15 || read_le32(data + 4) != 64)
        return 0;
    Uint32 previous = 0;
    for (Uint32 i = 0; i < segments; i++) {
        const Uint32 offset = read_le32(data + 4 + 4 * i);
        if (offset < 64 || offset >= length || (i > 0 && offset <= previous))
            return 0;
        previous = offset;
    }
    return 1;
}

// CNN_OK, or a refusal when a fragment of the encapsulated pixel data is
// one that DCMTK would hang or crash on.
static cnn_status check_fragments(DcmDataset *ds, E_TransferSyntax xfer, cnn_error *err)
{
    DcmElement *element = NULL;
    if (ds->findAndGetElement(DCM_PixelData, element).bad() || !element)
        return CNN_OK; // reported where the pixel data is read
    DcmPixelSequence *fragments = NULL;
    if (OFstatic_cast(DcmPixelData *, element)
            ->getEncapsulatedRepresentation(xfer, NULL, fragments)
            .bad() ||
        !fragments)
        return CNN_OK;
    const int rle = xfer == EXS_RLELossless;
    // item 0 is the offset table
    for (unsigned long i = 1; i < fragments->card(); i++) {
        DcmPixelItem *item = NULL;
        Uint8 *data = NULL;
        if (fragments->getItem(item, i).bad() || !item ||
            item->getUint8Array(data).bad() || !data)
            return cnn_fail(err, CNN_ERR_FORMAT, "malformed DICOM pixel data "
                            "(fragment %lu cannot be read)", i);
        const Uint32 length = item->getLength();
        if (rle && !rle_header_valid(data, length))
            return cnn_fail(err, CNN_ERR_FORMAT, "malformed RLE data in the DICOM "
                            "pixel data (a segment count or offsets that do not "
                            "fit the fragment)");
        if (!rle && jpeg_walk_reaches_tem(data, length))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "malformed JPEG data in the DICOM pixel data "
                            "(a TEM marker before the frame header)");
    }
    return CNN_OK;
}

// ------------------------------------------------------------------ header

int cnn_dicom_detect(const uint8_t *bytes, size_t len)
{
    if (len >= 132 && memcmp(bytes + 128, "DICM", 4) == 0)
        return 1;
    if (len < 8)
        return 0;
    // A data set without preamble: the first tag is (0002,xxxx) or
    // (0008,xxxx), little endian (02 00 / 08 00) or big endian (00 08).
    int group_le = bytes[0] | bytes[1] << 8;
    int group_be = bytes[0] << 8 | bytes[1];
    return group_le == 0x0002 || group_le == 0x0008 || group_be == 0x0008;
}

// Trimmed, printable ASCII only (anything else becomes '?'), cut to cap.
static void copy_clean(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    while (*src == ' ')
        src++;
    for (; *src && n + 1 < cap; src++)
        dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

static void get_string(DcmItem *ds, const DcmTagKey &tag, char *dst, size_t cap)
{
    OFString value;
    dst[0] = '\0';
    if (ds->findAndGetOFString(tag, value, 0).good())
        copy_clean(dst, cap, value.c_str());
}

static int equals_nocase(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

extern "C" void cnn_dicom_check_header(cnn_dicom_info *info)
{
    char *r = info->refusal;
    size_t cap = sizeof info->refusal;
    r[0] = '\0';
    const char *m = info->modality, *b = info->body_part, *v = info->view_position;
    if (*m && !equals_nocase(m, "CR") && !equals_nocase(m, "DX") &&
        !equals_nocase(m, "DR"))
        snprintf(r, cap, "Modality %s: not a radiograph (CR or DX expected)", m);
    else if (*b && !equals_nocase(b, "CHEST") && !equals_nocase(b, "THORAX"))
        snprintf(r, cap, "BodyPartExamined %s: not the chest", b);
    else if (*v && (equals_nocase(v, "LL") || equals_nocase(v, "RL") ||
                    equals_nocase(v, "LAT") || equals_nocase(v, "LATERAL")))
        snprintf(r, cap, "lateral view (ViewPosition %s)", v);
    else if (*v && !equals_nocase(v, "PA") && !equals_nocase(v, "AP"))
        snprintf(r, cap, "ViewPosition %s: not a frontal (PA or AP) view", v);
}

// ------------------------------------------------------------------ memory streams

// DCMTK loads an element's value at once from a stream that cannot be
// reopened (its buffer stream), allocating the length the element claims:
// a few bytes claiming 4 GB allocate 4 GB. A stream over our memory that
// can be reopened at an offset (a "factory", as for files) lets DCMTK check
// a long value's length against the bytes that are left and load it only
// when it is used: the pixel data, after the size checks below.
class MemoryStream : public DcmInputBufferStream {
public:
    MemoryStream(const uint8_t *data, size_t len, size_t offset)
        : data_(data), len_(len), offset_(offset)
    {
        setBuffer(data + offset, (offile_off_t)(len - offset));
        setEos();
        plain_ = currentProducer();
    }
    virtual DcmInputStreamFactory *newFactory() const;

private:
    const uint8_t *data_;
    size_t len_, offset_;
    const DcmProducer *plain_; // a filter (inflate) replaces it: no factory
};

class MemoryStreamFactory : public DcmInputStreamFactory {
public:
    MemoryStreamFactory(const uint8_t *data, size_t len, size_t offset)
        : data_(data), len_(len), offset_(offset) {}
    virtual DcmInputStream *create() const
    {
        return new MemoryStream(data_, len_, offset_);
    }
    virtual DcmInputStreamFactory *clone() const
    {
        return new MemoryStreamFactory(data_, len_, offset_);
    }
    virtual DcmInputStreamFactoryType ident() const
    {
        return DFT_DcmInputFileStreamFactory; // the kind that reads a file
    }

private:
    const uint8_t *data_;
    size_t len_, offset_;
};

DcmInputStreamFactory *MemoryStream::newFactory() const
{
    if (currentProducer() != plain_)
        return NULL;
    size_t at = offset_ + (size_t)tell();
    return at <= len_ ? new MemoryStreamFactory(data_, len_, at) : NULL;
}

// Values longer than this are checked against the bytes left and loaded
// when used (DCMTK's default threshold).
static const Uint32 max_read_length = 4096;

// A deflated data set inflated into memory, at most cap bytes (so that a
// small upload cannot expand into gigabytes). *out is malloc'd.
static cnn_status inflate_all(const uint8_t *in, size_t len, size_t cap,
                              uint8_t **out, size_t *out_len, cnn_error *err)
{
    *out = NULL;
    *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) // raw deflate (PS3.5 A.5)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory inflating DICOM data");
    size_t size = 0, have = len < cap / 4 ? len * 4 + 4096 : cap;
    uint8_t *buf = NULL;
    int rc = Z_OK;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)(len < 0x7fffffffu ? len : 0x7fffffffu);
    while (rc != Z_STREAM_END) {
        if (size == have || !buf) {
            if (buf && have >= cap) {
                inflateEnd(&z);
                free(buf);
                return cnn_fail(err, CNN_ERR_TOO_LARGE,
                                "deflated DICOM data set inflates to over %zu MB",
                                cap >> 20);
            }
            if (buf)
                have = have > cap / 2 ? cap : have * 2;
            uint8_t *grown = (uint8_t *)realloc(buf, have);
            if (!grown) {
                inflateEnd(&z);
                free(buf);
                return cnn_fail(err, CNN_ERR_NOMEM, "out of memory inflating DICOM data");
            }
            buf = grown;
        }
        z.next_out = buf + size;
        z.avail_out = (uInt)(have - size < 0x7fffffffu ? have - size : 0x7fffffffu);
        rc = inflate(&z, Z_NO_FLUSH);
        size = (size_t)(z.next_out - buf);
        if (rc == Z_BUF_ERROR && z.avail_out > 0)
            break; // input ended early: parse what there is
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            inflateEnd(&z);
            free(buf);
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "malformed DICOM file (deflated data set: %s)",
                            z.msg ? z.msg : "inflate failed");
        }
    }
    inflateEnd(&z);
    *out = buf;
    *out_len = size;
    return CNN_OK;
}

// ------------------------------------------------------------------ decoding

static cnn_status fail_condition(cnn_error *err, const OFCondition &c)
{
    if (c == EC_MemoryExhausted)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory reading the DICOM file");
    // DCMTK cannot tell a cut file from a wrong length: both are a value
    // that runs past the end.
    return cnn_fail(err, CNN_ERR_FORMAT, "truncated or malformed DICOM file (%s)",
                    c.text());
}

// Uint16 attribute that must be there.
static cnn_status get_u16(DcmItem *ds, const DcmTagKey &tag, const char *name,
                          Uint16 *out, cnn_error *err)
{
    if (ds->findAndGetUint16(tag, *out).bad())
        return cnn_fail(err, CNN_ERR_FORMAT, "DICOM image without %s", name);
    return CNN_OK;
}

static cnn_status decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                         cnn_image *out, cnn_dicom_info *info, cnn_error *err)
{
    if (!dcmDataDict.isDictionaryLoaded())
        return cnn_fail(err, CNN_ERR_IO,
                        "DCMTK's data dictionary is not installed (DCMDICTPATH)");
    if (len > 0xfffffffeu)
        return cnn_fail(err, CNN_ERR_TOO_LARGE, "DICOM file over 4 GB");

    // The file meta information (absent in a bare data set), then the data
    // set in the transfer syntax it names (else detected); a deflated one
    // inflated first, with a bound.
    MemoryStream stream(bytes, len, 0);
    DcmMetaInfo meta;
    meta.transferInit();
    OFCondition c = meta.read(stream, EXS_Unknown, EGL_noChange, max_read_length);
    meta.transferEnd();
    if (c.bad())
        return fail_condition(err, c);
    E_TransferSyntax stated = EXS_Unknown;
    OFString uid;
    if (meta.findAndGetOFString(DCM_TransferSyntaxUID, uid).good()) {
        stated = DcmXfer(uid.c_str()).getXfer();
        if (stated == EXS_Unknown) {
            char shown[65];
            copy_clean(shown, sizeof shown, uid.c_str());
            return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                            "DICOM transfer syntax not supported: %s", shown);
        }
    }
    uint8_t *inflated = NULL; // freed below, whatever happens
    struct Free {
        uint8_t **p;
        ~Free() { free(*p); }
    } free_inflated = {&inflated};
    size_t inflated_len = 0;
    MemoryStream *body = &stream;
    OFunique_ptr<MemoryStream> inflated_stream;
    E_TransferSyntax read_as = stated;
    if (stated == EXS_DeflatedLittleEndianExplicit) {
        size_t at = (size_t)stream.tell();
        size_t cap = (max_pixels < SIZE_MAX / 8 ? max_pixels * 6 : SIZE_MAX / 2) +
                     ((size_t)64 << 20);
        cnn_status st = inflate_all(bytes + at, len - at, cap, &inflated,
                                    &inflated_len, err);
        if (st != CNN_OK)
            return st;
        inflated_stream.reset(new MemoryStream(inflated, inflated_len, 0));
        body = inflated_stream.get();
        read_as = EXS_LittleEndianExplicit;
    }
    DcmDataset dataset;
    dataset.transferInit();
    c = dataset.read(*body, read_as, EGL_noChange, max_read_length);
    dataset.transferEnd();
    if (c.bad())
        return fail_condition(err, c);
    DcmDataset *ds = &dataset;
    E_TransferSyntax xfer = ds->getOriginalXfer();
    DcmXfer xfer_info(xfer);

    // What the header says (never anything about the patient).
    info->present = 1;
    get_string(ds, DCM_Modality, info->modality, sizeof info->modality);
    get_string(ds, DCM_BodyPartExamined, info->body_part, sizeof info->body_part);
    get_string(ds, DCM_ViewPosition, info->view_position, sizeof info->view_position);
    get_string(ds, DCM_PhotometricInterpretation, info->photometric,
               sizeof info->photometric);
    copy_clean(info->transfer_syntax, sizeof info->transfer_syntax,
               DcmXfer(stated != EXS_Unknown ? stated : xfer).getXferName());
    Sint32 frames = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1)
        frames = 1;
    info->frames = (int)frames;
    cnn_dicom_check_header(info);

    // Pixel data that we can decode, of a size within the limits, before
    // DCMTK decompresses or renders anything.
    if (!ds->tagExists(DCM_PixelData)) {
        if (ds->tagExists(DCM_FloatPixelData) || ds->tagExists(DCM_DoubleFloatPixelData))
            return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                            "DICOM image with floating-point pixels");
        return cnn_fail(err, CNN_ERR_FORMAT, "DICOM file without pixel data");
    }
    Uint16 rows, cols, spp, allocated, stored, representation;
    cnn_status st;
    if ((st = get_u16(ds, DCM_Rows, "Rows", &rows, err)) != CNN_OK ||
        (st = get_u16(ds, DCM_Columns, "Columns", &cols, err)) != CNN_OK ||
        (st = get_u16(ds, DCM_BitsAllocated, "BitsAllocated", &allocated, err)) != CNN_OK ||
        (st = get_u16(ds, DCM_BitsStored, "BitsStored", &stored, err)) != CNN_OK)
        return st;
    if (ds->findAndGetUint16(DCM_SamplesPerPixel, spp).bad())
        spp = 1;
    if (ds->findAndGetUint16(DCM_PixelRepresentation, representation).bad())
        representation = 0;
    info->bits_stored = stored;
    info->is_signed = representation == 1;
    if ((st = cnn_image_check_dimensions(cols, rows, max_pixels, err)) != CNN_OK)
        return st;
    if (stored < 1 || stored > 16 || allocated < stored || allocated > 16)
        return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                        "DICOM image with BitsStored %u, BitsAllocated %u "
                        "(1 to 16 bits are supported)",
                        (unsigned)stored, (unsigned)allocated);
    if (spp != 1 && spp != 3)
        return cnn_fail(err, CNN_ERR_FORMAT, "DICOM image with SamplesPerPixel %u",
                        (unsigned)spp);
    if (xfer_info.isEncapsulated()) {
        if (!DcmCodecList::canChangeCoding(xfer, EXS_LittleEndianExplicit))
            return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                            "DICOM transfer syntax not supported: %s",
                            info->transfer_syntax);
        if ((st = check_fragments(ds, xfer, err)) != CNN_OK)
            return st;
    } else {
        DcmElement *pixels = NULL;
        if (ds->findAndGetElement(DCM_PixelData, pixels).bad() || !pixels)
            return cnn_fail(err, CNN_ERR_FORMAT, "DICOM file without pixel data");
        uint64_t need = ((uint64_t)rows * cols * spp * allocated + 7) / 8;
        uint64_t have = pixels->getLength();
        if (have < need)
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "DICOM pixel data has %llu bytes, a %ux%u frame needs "
                            "%llu (truncated file?)",
                            (unsigned long long)have, (unsigned)cols,
                            (unsigned)rows, (unsigned long long)need);
    }

    // Render the first frame as a viewer shows it.
    DicomImage image(ds, xfer,
                     CIF_UsePartialAccessToPixelData | CIF_NeverAccessEmbeddedOverlays,
                     0, 1);
    if (image.getStatus() != EIS_Normal)
        return cnn_fail(err, image.getStatus() == EIS_MemoryFailure ? CNN_ERR_NOMEM
                                                                     : CNN_ERR_FORMAT,
                        "DICOM image cannot be decoded: %s",
                        DicomImage::getString(image.getStatus()));
    int mono = image.isMonochrome(), invert = 0;
    if (mono) {
        image.hideAllOverlays();
        // Bone bright: MONOCHROME1 is inverted whatever its
        // PresentationLUTShape says (DCMTK would take IDENTITY literally and
        // show it dark), MONOCHROME2 when the shape is INVERSE. DCMTK
        // renders as stored and the 8-bit values are inverted below, so that
        // both polarities get the same 256 grey levels (DCMTK's own
        // inversion of an unwindowed image never reaches 0).
        OFString shape;
        ds->findAndGetOFString(DCM_PresentationLUTShape, shape);
        invert = image.getPhotometricInterpretation() == EPI_Monochrome1 ||
                 shape == "INVERSE";
        image.setPresentationLutShape(ESP_Identity);
        OFString function;
        if (ds->findAndGetOFString(DCM_VOILUTFunction, function).good() &&
            function == "SIGMOID")
            image.setVoiLutFunction(EFV_Sigmoid);
        else
            image.setVoiLutFunction(EFV_Linear);
        double center = 0, width = 0;
        if (image.getWindowCount() > 0 && image.setWindow(0) &&
            image.getWindow(center, width)) {
            snprintf(info->voi, sizeof info->voi, "window C %g W %g", center, width);
        } else if (image.getVoiLutCount() > 0 && image.setVoiLut(0)) {
            snprintf(info->voi, sizeof info->voi, "VOI LUT");
        } else {
            image.setNoVoiTransformation();
            snprintf(info->voi, sizeof info->voi, "full range");
        }
    } else {
        snprintf(info->voi, sizeof info->voi, "colour");
    }
    if (image.getWidth() != cols || image.getHeight() != rows)
        return cnn_fail(err, CNN_ERR_FORMAT, "DICOM image of unexpected size");
    int channels = mono ? 1 : 3;
    const uint8_t *rendered = (const uint8_t *)image.getOutputData(8, 0, 0);
    if (!rendered || image.getOutputDataSize(8) < (unsigned long)rows * cols * channels)
        return cnn_fail(err, CNN_ERR_FORMAT, "DICOM pixel data cannot be decoded (%s)",
                        info->transfer_syntax);
    if ((st = cnn_image_alloc(out, cols, rows, channels, err)) != CNN_OK)
        return st;
    size_t plane = (size_t)rows * cols;
    for (int ch = 0; ch < channels; ch++)
        for (size_t i = 0; i < plane; i++)
            out->data[ch * plane + i] = rendered[i * channels + ch];
    if (invert)
        for (size_t i = 0; i < plane; i++)
            out->data[i] = 255.0f - out->data[i];
    return CNN_OK;
}

extern "C" cnn_status cnn_dicom_decode(const uint8_t *bytes, size_t len,
                                       size_t max_pixels, cnn_image *out,
                                       cnn_dicom_info *info, cnn_error *err)
{
    memset(out, 0, sizeof *out);
    memset(info, 0, sizeof *info);
    cnn_status st;
    try {
        pthread_once(&dcmtk_once, dcmtk_init);
        st = decode(bytes, len, max_pixels, out, info, err);
    } catch (const std::bad_alloc &) {
        st = cnn_fail(err, CNN_ERR_NOMEM, "out of memory decoding the DICOM file");
    } catch (...) {
        st = cnn_fail(err, CNN_ERR_FORMAT, "DICOM file cannot be decoded");
    }
    if (st != CNN_OK)
        cnn_image_free(out);
    return st;
}
