/* test_dicom.c - DICOM decoding (lib/dicom.h) against an independent
 * decode (pydicom + numpy, test/gen_fixtures_dicom.py, stored as the images
 * that test/fixtures/dicom/expected.txt lists): every transfer syntax and
 * pixel variant, the header's refusals, malformed files, the size limit,
 * and that no patient data reaches our structures. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom.h"
#include "image.h"
#include "util/golden.h"
#include "util/suite.h"

#define FIXTURES "test/fixtures/dicom/"
#define EXPECTED FIXTURES "expected.txt"

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc((size_t)n + 1);
    ck_assert(fread(bytes, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return bytes;
}

/* Nothing of the fixtures' made-up patient data may be in s. */
static void assert_no_patient_data(const char *what, const void *s, size_t n)
{
    static const char *secrets[] = {"DOE", "JANE", "SECRET", "12345", "19700101"};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        ck_assert_msg(memmem(s, n, secrets[i], strlen(secrets[i])) == NULL,
                      "%s holds patient data (%s)", what, secrets[i]);
}

typedef struct {
    const char *name;
    const char *transfer_syntax; /* a part of DCMTK's name */
    const char *photometric;
    int frames, bits, is_signed;
    const char *voi;
} variant;

static const variant variants[] = {
    {"mono2_8bit", "Little Endian Explicit", "MONOCHROME2", 1, 8, 0, "full range"},
    {"mono2_12bit_window", "Deflated", "MONOCHROME2", 1, 12, 0, "window C 2000 W 3000"},
    {"mono1_identity_shape", "Deflated", "MONOCHROME1", 1, 8, 0, "full range"},
    {"mono2_inverse_shape", "Deflated", "MONOCHROME2", 1, 8, 0, "full range"},
    {"mono2_12bit_full_range", "Deflated", "MONOCHROME2", 1, 12, 0, "full range"},
    {"mono1_12bit_window", "Deflated", "MONOCHROME1", 1, 12, 0, "window C 2095 W 3000"},
    {"rescale_slope", "Deflated", "MONOCHROME2", 1, 12, 0, "window C 2000 W 3000"},
    {"signed_16bit", "Deflated", "MONOCHROME2", 1, 16, 1, "window C 0 W 60000"},
    {"voi_lut", "Deflated", "MONOCHROME2", 1, 12, 0, "VOI LUT"},
    {"rgb", "Deflated", "RGB", 1, 8, 0, "colour"},
    {"multiframe", "Deflated", "MONOCHROME2", 3, 8, 0, "full range"},
    {"big_endian", "Big Endian Explicit", "MONOCHROME2", 1, 12, 0, "window C 2000 W 3000"},
    {"implicit_no_preamble", "Little Endian Implicit", "MONOCHROME2", 1, 8, 0, "full range"},
    {"jpeg_baseline", "JPEG Baseline", "MONOCHROME2", 1, 8, 0, "full range"},
    {"jpeg_baseline_ybr", "JPEG Baseline", "YBR_FULL_422", 1, 8, 0, "colour"},
    {"jpeg_extended_12bit", "JPEG Extended", "MONOCHROME2", 1, 12, 0, NULL},
    {"jpeg_lossless", "JPEG Lossless", "MONOCHROME2", 1, 12, 0, "window C 2000 W 3000"},
    {"jpegls_lossless", "JPEG-LS Lossless", "MONOCHROME2", 1, 12, 0, "window C 2000 W 3000"},
    {"jpegls_near_lossless", "JPEG-LS Lossy", "MONOCHROME2", 1, 12, 0, "window C 2000 W 3000"},
    {"rle_signed_16bit", "RLE Lossless", "MONOCHROME2", 1, 16, 1, "window C 0 W 60000"},
};

/* The reference image of a fixture, from expected.txt, into path. */
static void reference_of(const char *name, char *path, size_t cap)
{
    FILE *f = fopen(EXPECTED, "r");
    ck_assert_msg(f != NULL, "cannot open " EXPECTED);
    char line[512], fixture[128], ref[256];
    path[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%127s %255s", fixture, ref) == 2 &&
            strcmp(fixture, name) == 0)
            snprintf(path, cap, FIXTURES "%s", ref);
    fclose(f);
    ck_assert_msg(path[0] != '\0', "%s is not in " EXPECTED, name);
}

START_TEST(every_variant_matches_the_reference)
{
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        const variant *v = &variants[i];
        char path[256];
        snprintf(path, sizeof path, FIXTURES "%s.dcm", v->name);
        cnn_image img;
        cnn_dicom_info info;
        cnn_error err = {0};
        cnn_status st = cnn_image_load_ex(path, 0, &img, &info, &err);
        ck_assert_msg(st == CNN_OK, "%s: %s", path, err.message);
        char ref[512];
        reference_of(v->name, ref, sizeof ref);
        cnn_image want;
        st = cnn_image_load(ref, 0, &want, &err);
        ck_assert_msg(st == CNN_OK, "%s: %s", ref, err.message);
        /* Grey stored as RGB (a JPEG's YCbCr) may come out as one plane. */
        if (img.channels != want.channels) {
            cnn_image_collapse_grey(&img);
            cnn_image_collapse_grey(&want);
        }
        ck_assert_msg(img.channels == want.channels && img.height == want.height &&
                          img.width == want.width,
                      "%s: got %dx%dx%d, want %dx%dx%d", v->name, img.channels,
                      img.height, img.width, want.channels, want.height,
                      want.width);
        /* Within one grey level of the reference everywhere. */
        size_t count = (size_t)want.channels * want.height * want.width;
        double worst = 0, sum = 0;
        for (size_t k = 0; k < count; k++) {
            double d = fabs((double)img.data[k] - want.data[k]);
            worst = d > worst ? d : worst;
            sum += d;
        }
        printf("dicom %-22s %-16s max |diff| %.0f, mean %.4f grey levels\n",
               v->name, info.photometric, worst, sum / (double)count);
        cnn_image_free(&want);
        ck_assert_msg(worst <= 1.0, "%s: %.0f grey levels off the reference",
                      v->name, worst);
        /* What the header said. */
        ck_assert_int_eq(info.present, 1);
        ck_assert_msg(strstr(info.transfer_syntax, v->transfer_syntax) != NULL,
                      "%s: transfer syntax %s", v->name, info.transfer_syntax);
        ck_assert_str_eq(info.photometric, v->photometric);
        ck_assert_int_eq(info.frames, v->frames);
        ck_assert_int_eq(info.bits_stored, v->bits);
        ck_assert_int_eq(info.is_signed, v->is_signed);
        if (v->voi)
            ck_assert_str_eq(info.voi, v->voi);
        ck_assert_str_eq(info.refusal, "");
        ck_assert_str_eq(info.body_part, "CHEST");
        assert_no_patient_data(v->name, &info, sizeof info);
        cnn_image_free(&img);
    }
}
END_TEST

START_TEST(monochrome1_is_shown_like_monochrome2)
{
    /* The same X-ray stored inverted as MONOCHROME1 with the mirrored
     * window: bone is bright in both. */
    cnn_image a, b;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_load(FIXTURES "mono2_12bit_window.dcm", 0, &a, &err), CNN_OK);
    ck_assert_int_eq(cnn_image_load(FIXTURES "mono1_12bit_window.dcm", 0, &b, &err), CNN_OK);
    assert_close("MONOCHROME1 vs 2", b.data, a.data, (size_t)a.width * a.height, 1.0, 0);
    cnn_image_free(&a);
    cnn_image_free(&b);
}
END_TEST

START_TEST(multiframe_gives_the_first_frame)
{
    /* Frame 2 is the negative and frame 3 black: the golden is frame 1. */
    cnn_image a, b;
    cnn_dicom_info info;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_load_ex(FIXTURES "multiframe.dcm", 0, &a, &info, &err), CNN_OK);
    ck_assert_int_eq(info.frames, 3);
    ck_assert_int_eq(cnn_image_load(FIXTURES "mono2_8bit.dcm", 0, &b, &err), CNN_OK);
    assert_close("first frame", a.data, b.data, (size_t)a.width * a.height, 1e-6, 0);
    cnn_image_free(&a);
    cnn_image_free(&b);
}
END_TEST

START_TEST(header_refusals)
{
    static const struct {
        const char *name, *reason;
    } cases[] = {
        {"lateral", "lateral view (ViewPosition LL)"},
        {"non_chest", "BodyPartExamined SKULL: not the chest"},
        {"modality_ct", "Modality CT: not a radiograph (CR or DX expected)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256], want[300];
        snprintf(path, sizeof path, FIXTURES "%s.dcm", cases[i].name);
        cnn_image img;
        cnn_dicom_info info;
        cnn_error err = {0};
        /* The _ex form decodes and says why. */
        ck_assert_int_eq(cnn_image_load_ex(path, 0, &img, &info, &err), CNN_OK);
        ck_assert_str_eq(info.refusal, cases[i].reason);
        ck_assert_int_eq(img.width, 152);
        cnn_image_free(&img);
        /* The plain form refuses. */
        ck_assert_int_eq(cnn_image_load(path, 0, &img, &err), CNN_ERR_UNSUPPORTED);
        snprintf(want, sizeof want, "%s: not a frontal chest X-ray (%s)", path,
                 cases[i].reason);
        ck_assert_str_eq(err.message, want);
        ck_assert_ptr_null(img.data);
    }
}
END_TEST

static const char *refusal_of(const char *modality, const char *body,
                              const char *view)
{
    static cnn_dicom_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.modality, sizeof info.modality, "%s", modality);
    snprintf(info.body_part, sizeof info.body_part, "%s", body);
    snprintf(info.view_position, sizeof info.view_position, "%s", view);
    cnn_dicom_check_header(&info);
    return info.refusal;
}

START_TEST(header_check_rules)
{
    /* Accepted: expected values in any case, or absent. */
    ck_assert_str_eq(refusal_of("CR", "CHEST", "PA"), "");
    ck_assert_str_eq(refusal_of("dx", "chest", "ap"), "");
    ck_assert_str_eq(refusal_of("DR", "THORAX", ""), "");
    ck_assert_str_eq(refusal_of("", "", ""), "");
    /* Refused, the first reason found. */
    ck_assert_str_eq(refusal_of("MR", "CHEST", "PA"),
                     "Modality MR: not a radiograph (CR or DX expected)");
    ck_assert_str_eq(refusal_of("DX", "HAND", "PA"),
                     "BodyPartExamined HAND: not the chest");
    ck_assert_str_eq(refusal_of("DX", "CHEST", "RL"), "lateral view (ViewPosition RL)");
    ck_assert_str_eq(refusal_of("", "", "LATERAL"),
                     "lateral view (ViewPosition LATERAL)");
    ck_assert_str_eq(refusal_of("CR", "", "LLO"),
                     "ViewPosition LLO: not a frontal (PA or AP) view");
}
END_TEST

START_TEST(malformed_files)
{
    static const struct {
        const char *name;
        cnn_status status;
        const char *message;
    } cases[] = {
        {"bad_truncated", CNN_ERR_FORMAT, "truncated or malformed DICOM file"},
        {"bad_truncated_header", CNN_ERR_FORMAT, "truncated or malformed DICOM file"},
        {"bad_bad_length", CNN_ERR_FORMAT, "truncated or malformed DICOM file"},
        {"bad_huge_dimensions", CNN_ERR_TOO_LARGE, "image is 65535x65535 = 4295 megapixels"},
        {"bad_short_pixel_data", CNN_ERR_FORMAT, "DICOM pixel data has 512 bytes, a 64x64 frame needs 8192"},
        {"bad_no_pixel_data", CNN_ERR_FORMAT, "DICOM file without pixel data"},
        {"bad_jpeg2000", CNN_ERR_UNSUPPORTED, "DICOM transfer syntax not supported: JPEG 2000"},
        {"bad_garbage", CNN_ERR_FORMAT, "truncated or malformed DICOM file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256];
        snprintf(path, sizeof path, FIXTURES "%s.dcm", cases[i].name);
        cnn_image img;
        cnn_error err = {0};
        cnn_status st = cnn_image_load(path, 0, &img, &err);
        ck_assert_msg(st == cases[i].status, "%s: status %d (%s), want %d",
                      cases[i].name, st, err.message, cases[i].status);
        ck_assert_msg(strstr(err.message, cases[i].message) != NULL,
                      "%s: '%s' lacks '%s'", cases[i].name, err.message,
                      cases[i].message);
        ck_assert_ptr_null(img.data);
        assert_no_patient_data(cases[i].name, err.message, strlen(err.message));
    }
}
END_TEST

/* Every prefix of a file (at a stride) fails cleanly; the whole decodes. */
static void check_prefixes(const char *name, size_t stride)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s.dcm", name);
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    for (size_t n = 1; n < len; n += stride) {
        cnn_image img;
        cnn_error err = {0};
        cnn_status st = cnn_image_decode(bytes, n, 0, &img, &err);
        ck_assert_msg(st != CNN_OK, "%s cut to %zu of %zu bytes decoded", name, n, len);
        ck_assert_ptr_null(img.data);
    }
    free(bytes);
}

START_TEST(truncated_anywhere)
{
    check_prefixes("mono2_8bit", 251);
    check_prefixes("jpeg_lossless", 127);
    check_prefixes("jpegls_lossless", 127);
    check_prefixes("rle_signed_16bit", 211);
    check_prefixes("jpeg_baseline_ybr", 61);
    check_prefixes("rgb", 173);
}
END_TEST

START_TEST(pixel_limit_before_decoding)
{
    cnn_image img;
    cnn_error err = {0};
    /* 152x152 = 23104 pixels. */
    ck_assert_int_eq(cnn_image_load(FIXTURES "jpeg_lossless.dcm", 23103, &img, &err),
                     CNN_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.message, "image is 152x152"));
    ck_assert_int_eq(cnn_image_load(FIXTURES "jpeg_lossless.dcm", 23104, &img, &err),
                     CNN_OK);
    cnn_image_free(&img);
}
END_TEST

START_TEST(detection_by_content)
{
    uint8_t buf[256] = {0};
    ck_assert(!cnn_dicom_detect(buf, sizeof buf));
    memcpy(buf + 128, "DICM", 4);
    ck_assert(cnn_dicom_detect(buf, 132));
    ck_assert(!cnn_dicom_detect(buf, 131));
    uint8_t le8[8] = {0x08, 0x00, 0x05, 0x00, 'C', 'S', 10, 0};
    uint8_t le2[8] = {0x02, 0x00, 0x00, 0x00, 'U', 'L', 4, 0};
    uint8_t be8[8] = {0x00, 0x08, 0x00, 0x16, 'U', 'I', 0, 26};
    uint8_t text[8] = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o'};
    ck_assert(cnn_dicom_detect(le8, 8));
    ck_assert(cnn_dicom_detect(le2, 8));
    ck_assert(cnn_dicom_detect(be8, 8));
    ck_assert(!cnn_dicom_detect(text, 8));
    ck_assert(!cnn_dicom_detect(le8, 7));
    /* Non-DICOM input keeps the old message, naming DICOM now. */
    cnn_image img;
    cnn_dicom_info info;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_decode_ex(text, 8, 0, &img, &info, &err), CNN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "not a PNG, JPEG or DICOM file"));
    ck_assert_int_eq(info.present, 0);
}
END_TEST

START_TEST(png_and_jpeg_say_not_dicom)
{
    cnn_image img;
    cnn_dicom_info info;
    cnn_error err = {0};
    memset(&info, 0x55, sizeof info);
    ck_assert_int_eq(cnn_image_load_ex("test/fixtures/images/resize_xray_299.png", 0,
                                       &img, &info, &err), CNN_OK);
    ck_assert_int_eq(info.present, 0);
    ck_assert_str_eq(info.refusal, "");
    cnn_image_free(&img);
}
END_TEST

START_TEST(memory_equals_file)
{
    size_t len;
    uint8_t *bytes = read_file(FIXTURES "jpegls_lossless.dcm", &len);
    cnn_image a, b;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_decode(bytes, len, 0, &a, &err), CNN_OK);
    ck_assert_int_eq(cnn_image_load(FIXTURES "jpegls_lossless.dcm", 0, &b, &err), CNN_OK);
    assert_close("memory vs file", a.data, b.data, (size_t)a.width * a.height, 1e-6, 0);
    cnn_image_free(&a);
    cnn_image_free(&b);
    free(bytes);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dicom");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_variant_matches_the_reference);
    tcase_add_test(tc, monochrome1_is_shown_like_monochrome2);
    tcase_add_test(tc, multiframe_gives_the_first_frame);
    tcase_add_test(tc, header_refusals);
    tcase_add_test(tc, header_check_rules);
    tcase_add_test(tc, malformed_files);
    tcase_add_test(tc, truncated_anywhere);
    tcase_add_test(tc, pixel_limit_before_decoding);
    tcase_add_test(tc, detection_by_content);
    tcase_add_test(tc, png_and_jpeg_say_not_dicom);
    tcase_add_test(tc, memory_equals_file);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
