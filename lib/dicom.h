/* dicom.h - DICOM X-rays through DCMTK (lib/dicom_decode.cc, the library's
 * one C++ file): decoding from memory into a cnn_image, and what the header
 * says about the picture.
 *
 * Pixels come out as a viewer shows them: the Modality LUT (RescaleSlope/
 * RescaleIntercept or a Modality LUT Sequence), then the VOI transform (the
 * first WindowCenter/WindowWidth pair, else the first VOI LUT in the
 * sequence, else the full range that BitsStored allows, after the Modality
 * LUT), rendered to 8 bits (0..255; as cnn_image floats) with MONOCHROME1
 * inverted so that bone is bright. RGB, YBR_FULL, YBR_FULL_422 and other
 * colour interpretations come out as RGB. Of a multi-frame image only the
 * first frame is decoded (info.frames says how many there are). Overlays
 * are not burnt in.
 *
 * Transfer syntaxes: implicit and explicit VR little endian, explicit VR big
 * endian, deflated explicit little endian, JPEG baseline/extended/lossless
 * (dcmjpeg), JPEG-LS lossless and near-lossless (dcmjpls), RLE lossless.
 * JPEG 2000 and the video syntaxes are refused (Debian's DCMTK has no
 * decoder for them).
 *
 * Privacy: patient-identifying attributes (PatientName, PatientID,
 * PatientBirthDate, ...) are never read into these structures, printed or
 * logged. DCMTK's own logger is switched off; every problem is reported
 * through cnn_error. */
#ifndef CNN_DICOM_H
#define CNN_DICOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "cnn.h"
#include "image.h" /* has no extern "C" of its own */

/* The header's picture attributes. Strings are trimmed, limited to
 * printable ASCII (anything else becomes '?') and empty when absent. */
struct cnn_dicom_info {
    int present;             /* 1: the bytes were DICOM (all below is set) */
    char modality[17];       /* Modality: CR, DX expected */
    char body_part[65];      /* BodyPartExamined: CHEST expected */
    char view_position[17];  /* ViewPosition: PA or AP expected */
    char photometric[17];    /* PhotometricInterpretation as stored */
    char transfer_syntax[80];/* its name, e.g. "JPEG Lossless, Non-hierarchical, First-Order Prediction" */
    int frames;              /* NumberOfFrames (1 when absent) */
    int bits_stored;
    int is_signed;           /* PixelRepresentation 1 */
    char voi[80];            /* how grey levels were chosen: "window C 2048 W 4096",
                                "VOI LUT", "full range", "colour" */
    /* Non-empty when the header says this is not a frontal chest X-ray:
     * "Modality CT: not a radiograph (CR or DX expected)",
     * "BodyPartExamined SKULL: not the chest", "lateral view (ViewPosition
     * LL)", "ViewPosition LLO: not a frontal (PA or AP) view". The pixels
     * are decoded all the same. */
    char refusal[160];
};

/* Whether the bytes look like DICOM: "DICM" at offset 128 (a Part 10 file),
 * or a data set without the preamble that starts with a group 0002 or 0008
 * element (little or big endian). */
int cnn_dicom_detect(const uint8_t *bytes, size_t len);

/* Decodes a DICOM file from memory (nothing is written to disk). Rows x
 * Columns is checked against max_pixels (> 0) before any pixel data is
 * decompressed or rendered. *info is always filled as far as the header
 * was read (present = 1 once DCMTK parsed it). Errors: CNN_ERR_FORMAT
 * (malformed or truncated data, missing attributes or pixel data),
 * CNN_ERR_UNSUPPORTED (transfer syntax, BitsStored over 16, float pixels),
 * CNN_ERR_TOO_LARGE, CNN_ERR_NOMEM. The header checks do not fail the
 * decode: they fill info->refusal. */
cnn_status cnn_dicom_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                            cnn_image *out, cnn_dicom_info *info,
                            cnn_error *err);

/* The header checks alone (sets info->refusal from modality, body_part and
 * view_position; empty when they are fine or absent). */
void cnn_dicom_check_header(cnn_dicom_info *info);

#ifdef __cplusplus
}
#endif

#endif
