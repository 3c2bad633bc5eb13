/* test_image_decode.c - PNG/JPEG decoding against Pillow/numpy expectations
 * (test/gen_fixtures_images.py), hostile inputs, PNG encoding round trip. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "util/golden.h"
#include "util/suite.h"

#define FIXTURES "test/fixtures/images/"
#define GOLDEN "test/golden/image_fixtures.bin"

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

/* Decodes FIXTURES/name.ext and compares with golden array name [c][h][w]. */
static void check_fixture(const golden_file *g, const char *name,
                          const char *ext, double atol)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s.%s", name, ext);
    cnn_image img;
    cnn_error err = {0};
    cnn_status st = cnn_image_load(path, 0, &img, &err);
    ck_assert_msg(st == CNN_OK, "%s: %s", path, err.message);
    const golden_array *want = golden_get(g, name);
    ck_assert_int_eq(want->ndim, 3);
    ck_assert_msg(img.channels == want->dims[0] && img.height == want->dims[1] &&
                      img.width == want->dims[2],
                  "%s: got %dx%dx%d, want %dx%dx%d", name, img.channels,
                  img.height, img.width, want->dims[0], want->dims[1],
                  want->dims[2]);
    assert_close(name, img.data, want->data, want->count, atol, 1e-6);
    cnn_image_free(&img);
}

START_TEST(png_every_colour_type_and_depth)
{
    static const char *names[] = {
        "png_grey1", "png_grey2", "png_grey4", "png_grey8", "png_grey16",
        "png_grey8_adam7", "png_grey2_adam7", "png_rgb8", "png_rgb16",
        "png_rgb8_adam7", "png_greyalpha8", "png_greyalpha16", "png_rgba8",
        "png_rgba16", "png_rgba16_adam7", "png_palette4", "png_palette8_trns",
        "png_palette1_adam7", "png_grey8_colourkey"};
    golden_file *g = golden_load(GOLDEN);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        check_fixture(g, names[i], "png", 1e-3);
    golden_free(g);
}
END_TEST

START_TEST(png_16bit_keeps_precision)
{
    /* 16-bit values must not be rounded to 8 bits: some pixel must have a
     * fractional part. */
    cnn_image img;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_load(FIXTURES "png_grey16.png", 0, &img, &err),
                     CNN_OK);
    int fractional = 0;
    for (int i = 0; i < img.width * img.height; i++)
        fractional += img.data[i] != (float)(int)img.data[i];
    ck_assert_int_gt(fractional, img.width * img.height / 2);
    cnn_image_free(&img);
}
END_TEST

START_TEST(jpeg_variants)
{
    static const char *names[] = {
        "jpeg_grey_baseline", "jpeg_grey_progressive", "jpeg_rgb_baseline",
        "jpeg_rgb_progressive", "jpeg_rgb_444", "jpeg_cmyk", "jpeg_ycck"};
    golden_file *g = golden_load(GOLDEN);
    /* Same libjpeg as Pillow: exact but for CMYK's float rounding. */
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        check_fixture(g, names[i], "jpeg", 1e-3);
    golden_free(g);
}
END_TEST

START_TEST(real_xrays)
{
    static const char *files[][2] = {
        {"xray_normal_IM-0115-0001.jpeg", "normal"},
        {"xray_pneumonia_person1000_bacteria_2931.jpeg", "pneumonia"}};
    golden_file *g = golden_load(GOLDEN);
    for (int f = 0; f < 2; f++) {
        char path[256], key[64];
        snprintf(path, sizeof path, FIXTURES "%s", files[f][0]);
        cnn_image img;
        cnn_error err = {0};
        ck_assert_msg(cnn_image_load(path, 0, &img, &err) == CNN_OK, "%s",
                      err.message);
        /* RGB files whose three planes are equal (Pillow's decoding):
         * one grey plane here */
        snprintf(key, sizeof key, "xray_%s_shape", files[f][1]);
        const golden_array *shape = golden_get(g, key);
        ck_assert_int_eq((int)shape->data[0], 3);
        ck_assert_int_eq(img.channels, 1);
        ck_assert_int_eq(img.height, (int)shape->data[1]);
        ck_assert_int_eq(img.width, (int)shape->data[2]);
        snprintf(key, sizeof key, "xray_%s_sampled", files[f][1]);
        const golden_array *sampled = golden_get(g, key);
        size_t k = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < img.height; y += 8)
                for (int x = 0; x < img.width; x += 8, k++)
                    ck_assert_msg(img.data[(size_t)y * img.width + x] ==
                                      sampled->data[k],
                                  "%s pixel (%d,%d,%d)", path, c, y, x);
        ck_assert_uint_eq(k, sampled->count);
        double sum = 0.0;
        size_t n = (size_t)img.width * img.height;
        for (size_t i = 0; i < n; i++)
            sum += img.data[i];
        snprintf(key, sizeof key, "xray_%s_mean", files[f][1]);
        ck_assert_double_eq_tol(sum / n, golden_get(g, key)->data[0], 1e-3);
        cnn_image_free(&img);
    }
    golden_free(g);
}
END_TEST

/* Expects decoding to fail with code and a message containing text. */
static void expect_failure(const uint8_t *bytes, size_t len, size_t max_pixels,
                           cnn_status code, const char *text, const char *what)
{
    cnn_image img = {1, 1, 1, NULL};
    cnn_error err = {0};
    cnn_status st = cnn_image_decode(bytes, len, max_pixels, &img, &err);
    ck_assert_msg(st == code, "%s: status %s (%s), want %s", what,
                  cnn_status_name(st), err.message, cnn_status_name(code));
    ck_assert_msg(strstr(err.message, text) != NULL,
                  "%s: message \"%s\" lacks \"%s\"", what, err.message, text);
    ck_assert(img.data == NULL && img.width == 0);
}

START_TEST(empty_and_wrong_magic)
{
    uint8_t none[1] = {0};
    expect_failure(none, 0, 0, CNN_ERR_FORMAT, "empty file", "zero bytes");
    const char *text = "hello, this is a text file\n";
    expect_failure((const uint8_t *)text, strlen(text), 0, CNN_ERR_FORMAT,
                   "not a PNG, JPEG or DICOM file (starts with 68 65 6c 6c", "text");
    const char *gif = "GIF89a\x01\x00\x01\x00\x80\x00\x00";
    expect_failure((const uint8_t *)gif, 13, 0, CNN_ERR_FORMAT, "\"GIF89a", "gif");
    const uint8_t png_start[4] = {0x89, 'P', 'N', 'G'};
    expect_failure(png_start, 4, 0, CNN_ERR_FORMAT, "truncated PNG", "4 bytes");
    cnn_image img;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_load(FIXTURES "no_such_file.png", 0, &img, &err),
                     CNN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "no_such_file.png: cannot open"));
}
END_TEST

START_TEST(oversized)
{
    size_t len;
    uint8_t *bytes = read_file(FIXTURES "huge_header.png", &len);
    ck_assert_uint_lt(len, 100);
    expect_failure(bytes, len, 0, CNN_ERR_TOO_LARGE,
                   "image is 100000x100000 = 10000 megapixels, over the 100 "
                   "megapixel limit", "huge header");
    free(bytes);
    /* A configurable limit: 13x9 = 117 pixels against 100. */
    bytes = read_file(FIXTURES "png_rgb8.png", &len);
    expect_failure(bytes, len, 100, CNN_ERR_TOO_LARGE, "13x9", "png limit");
    free(bytes);
    bytes = read_file(FIXTURES "jpeg_rgb_baseline.jpeg", &len);
    expect_failure(bytes, len, 100, CNN_ERR_TOO_LARGE, "40x24", "jpeg limit");
    /* A JPEG whose frame header (SOF0: ff c0, len, precision, height, width)
     * claims 65000x65000. */
    size_t sof = 2;
    while (sof + 9 < len && !(bytes[sof] == 0xff && bytes[sof + 1] == 0xc0))
        sof++;
    ck_assert_uint_lt(sof + 9, len);
    bytes[sof + 5] = bytes[sof + 7] = 65000 >> 8;
    bytes[sof + 6] = bytes[sof + 8] = 65000 & 0xff;
    expect_failure(bytes, len, 0, CNN_ERR_TOO_LARGE,
                   "image is 65000x65000 = 4225 megapixels, over the 100 "
                   "megapixel limit", "huge JPEG header");
    free(bytes);
}
END_TEST

START_TEST(truncated)
{
    size_t len;
    uint8_t *png = read_file(FIXTURES "png_rgba16_adam7.png", &len);
    /* Inside the signature, IHDR, the IDAT header and its data; the last
     * 12 + 4 bytes (IDAT CRC and IEND) may legitimately be missing. */
    size_t png_cuts[] = {5, 8, 20, 33, 37, 41, 60, len / 2, len - 40};
    for (size_t i = 0; i < sizeof png_cuts / sizeof *png_cuts; i++) {
        char what[64];
        snprintf(what, sizeof what, "PNG cut at %zu", png_cuts[i]);
        expect_failure(png, png_cuts[i], 0, CNN_ERR_FORMAT, "truncated PNG", what);
    }
    free(png);
    const char *jpegs[] = {FIXTURES "jpeg_rgb_baseline.jpeg",
                           FIXTURES "jpeg_rgb_progressive.jpeg",
                           FIXTURES "xray_normal_IM-0115-0001.jpeg"};
    for (int j = 0; j < 3; j++) {
        uint8_t *jpeg = read_file(jpegs[j], &len);
        size_t cuts[] = {3, 10, 100, len / 2, len - 10};
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            char what[300];
            snprintf(what, sizeof what, "%s cut at %zu", jpegs[j], cuts[i]);
            expect_failure(jpeg, cuts[i], 0, CNN_ERR_FORMAT, "truncated JPEG", what);
        }
        free(jpeg);
    }
}
END_TEST

START_TEST(corrupt)
{
    size_t len;
    uint8_t *png = read_file(FIXTURES "png_rgb8.png", &len);
    png[40] ^= 0x55; /* inside the IDAT data: the CRC no longer matches */
    expect_failure(png, len, 0, CNN_ERR_FORMAT, "corrupt PNG", "PNG IDAT byte");
    png[40] ^= 0x55;
    png[24] = 7; /* IHDR bit depth 7 (CRC fixed up below would not help) */
    expect_failure(png, len, 0, CNN_ERR_FORMAT, "corrupt PNG", "PNG IHDR");
    free(png);

    uint8_t *jpeg = read_file(FIXTURES "jpeg_grey_baseline.jpeg", &len);
    /* Find SOF0 (ff c0) and claim 0 components. */
    size_t sof = 2;
    while (sof + 9 < len && !(jpeg[sof] == 0xff && jpeg[sof + 1] == 0xc0))
        sof++;
    ck_assert_uint_lt(sof + 9, len);
    jpeg[sof + 9] = 0;
    expect_failure(jpeg, len, 0, CNN_ERR_FORMAT, "corrupt JPEG", "JPEG SOF");
    free(jpeg);
}
END_TEST

START_TEST(memory_equals_file)
{
    size_t len;
    uint8_t *bytes = read_file(FIXTURES "png_palette8_trns.png", &len);
    cnn_image a, b;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_decode(bytes, len, 0, &a, &err), CNN_OK);
    ck_assert_int_eq(cnn_image_load(FIXTURES "png_palette8_trns.png", 0, &b, &err),
                     CNN_OK);
    ck_assert_int_eq(a.channels, 3);
    ck_assert_mem_eq(a.data, b.data, sizeof(float) * 3 * a.width * a.height);
    cnn_image_free(&a);
    cnn_image_free(&b);
    free(bytes);
}
END_TEST

START_TEST(png_encode_round_trip)
{
    enum { W = 7, H = 5 };
    uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        rgb[i] = (uint8_t)(i * 37 + 11);
    uint8_t *png;
    size_t len;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_png_encode_rgb(rgb, W, H, &png, &len, &err), CNN_OK);
    ck_assert(len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    cnn_image img;
    ck_assert_int_eq(cnn_image_decode(png, len, 0, &img, &err), CNN_OK);
    ck_assert(img.width == W && img.height == H && img.channels == 3);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < W * H; i++)
            ck_assert_float_eq(img.data[c * W * H + i], rgb[i * 3 + c]);
    cnn_image_free(&img);
    free(png);
    ck_assert_int_eq(cnn_png_write_rgb("/nonexistent-dir/x.png", rgb, W, H, &err),
                     CNN_ERR_IO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("image_decode");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, png_every_colour_type_and_depth);
    tcase_add_test(tc, png_16bit_keeps_precision);
    tcase_add_test(tc, jpeg_variants);
    tcase_add_test(tc, real_xrays);
    tcase_add_test(tc, empty_and_wrong_magic);
    tcase_add_test(tc, oversized);
    tcase_add_test(tc, truncated);
    tcase_add_test(tc, corrupt);
    tcase_add_test(tc, memory_equals_file);
    tcase_add_test(tc, png_encode_round_trip);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
