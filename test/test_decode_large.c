/* test_decode_large.c - decoding within CNN_IMAGE_MAX_DECODED_SAMPLES
 * (image.h): images made here with libpng and libjpeg, big enough to be
 * reduced while decoding, give the model input that a full-size decoding
 * gives (the synthetic pixels themselves for PNG, libjpeg's own full-size
 * decoding for JPEG) within one grey level for an enlarged X-ray (and
 * 1.2 for test patterns of hard edges); the reduced pixels are the block
 * means; RGB sources of grey pixels take one plane, and a colour
 * pixel late in a large image restarts the decoding with room for colour;
 * Adam7 gives what plain rows give; oversized sides and progressive
 * coefficients are refused before decoding. */
#include <check.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* jpeglib.h needs FILE and size_t first. */
#include <jpeglib.h>

#include "image.h"
#include "util/suite.h"

/* 4100 x 4100 grey is just over the bound (4096 x 4096): reduced by 2. */
#define SIDE 4100

/* Test patterns: gradients, a disc, a 37-px checkerboard and a patch of
 * 1-px stripes; hard edges are the hardest case for a reduction. */
static int patterns(int x, int y, int w, int h)
{
    int v = (x * 255 / (w - 1) + y * 255 / (h - 1)) / 2;
    if ((x - w / 2) * (x - w / 2) + (y - h / 3) * (y - h / 3) < (w / 5) * (w / 5))
        v = 255 - v;
    if (x < w / 4 && y > h / 2)
        v = ((x / 37 + y / 37) % 2) * 200 + 20;
    if (x > 3 * w / 4 && y > 3 * h / 4)
        v = ((x + y / 3) % 2) * 255;
    return v;
}

/* A real X-ray (the 224x224 fixture) enlarged bilinearly, rounded. */
static int xray(int x, int y, int w, int h)
{
    static cnn_image src;
    if (!src.data)
        ck_assert_int_eq(cnn_image_load("test/fixtures/images/"
                                        "xray_normal_IM-0115-0001.jpeg",
                                        0, &src, NULL), CNN_OK);
    float sx = ((float)x + 0.5f) * (float)src.width / (float)w - 0.5f;
    float sy = ((float)y + 0.5f) * (float)src.height / (float)h - 0.5f;
    sx = sx < 0 ? 0 : sx > src.width - 1 ? (float)(src.width - 1) : sx;
    sy = sy < 0 ? 0 : sy > src.height - 1 ? (float)(src.height - 1) : sy;
    int x0 = (int)sx, y0 = (int)sy;
    int x1 = x0 + 1 < src.width ? x0 + 1 : x0, y1 = y0 + 1 < src.height ? y0 + 1 : y0;
    float fx = sx - (float)x0, fy = sy - (float)y0;
    const float *p = src.data;
    float top = p[y0 * src.width + x0] * (1 - fx) + p[y0 * src.width + x1] * fx;
    float bottom = p[y1 * src.width + x0] * (1 - fx) + p[y1 * src.width + x1] * fx;
    return (int)lroundf(top * (1 - fy) + bottom * fy);
}

/* What the images made below show. */
static int (*content)(int x, int y, int w, int h) = patterns;

/* ---------------------------------------------------------------- encoders */

typedef struct {
    uint8_t *data;
    size_t len, cap;
} membuf;

static void to_membuf(png_structp png, png_bytep bytes, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->data = realloc(m->data, m->cap);
        ck_assert_ptr_nonnull(m->data);
    }
    memcpy(m->data + m->len, bytes, n);
    m->len += n;
}

static void no_flush(png_structp png)
{
    (void)png;
}

/* Fills row y (w pixels of `channels` samples, 8 or 16 bits). */
typedef void (*row_filler)(int y, int w, int h, uint8_t *row);

static uint8_t *encode_png(int w, int h, int colour_type, int depth,
                           int interlace, row_filler fill, size_t *len)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert(png && info);
    membuf m = {0};
    png_set_write_fn(png, &m, to_membuf, no_flush);
    png_set_compression_level(png, 1);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, colour_type,
                 interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    uint8_t *row = malloc(png_get_rowbytes(png, info));
    ck_assert_ptr_nonnull(row);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) {
            fill(y, w, h, row);
            png_write_row(png, row);
        }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    *len = m.len;
    return m.data;
}

/* Grey, or (colour) tinted: blue at half the grey level. */
static uint8_t *encode_jpeg(int w, int h, int progressive, int colour,
                            size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long out_len = 0;
    jpeg_mem_dest(&c, &out, &out_len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = colour ? 3 : 1;
    c.in_color_space = colour ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)w * 3);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < w; x++) {
            int v = content(x, y, w, h);
            if (colour) {
                row[3 * x] = row[3 * x + 1] = (uint8_t)v;
                row[3 * x + 2] = (uint8_t)(v / 2);
            } else {
                row[x] = (uint8_t)v;
            }
        }
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *len = out_len;
    return out;
}

/* libjpeg's plain full-size decoding: what cnn_jpeg_decode gave before
 * images were bounded. */
static cnn_image decode_jpeg_full(const uint8_t *bytes, size_t len)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, bytes, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    jpeg_start_decompress(&d);
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, (int)d.output_width,
                                     (int)d.output_height, 1, NULL), CNN_OK);
    uint8_t *row = malloc(d.output_width);
    while (d.output_scanline < d.output_height) {
        size_t y = d.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&d, rows, 1);
        for (size_t x = 0; x < d.output_width; x++)
            img.data[y * d.output_width + x] = row[x];
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(row);
    return img;
}

static void zero_row(int y, int w, int h, uint8_t *row)
{
    (void)y;
    (void)h;
    memset(row, 0, (size_t)w);
}

static void grey8_row(int y, int w, int h, uint8_t *row)
{
    for (int x = 0; x < w; x++)
        row[x] = (uint8_t)content(x, y, w, h);
}

/* 16-bit RGBA with three equal colour samples and full alpha. */
static void grey_rgba16_row(int y, int w, int h, uint8_t *row)
{
    for (int x = 0; x < w; x++) {
        int v = content(x, y, w, h) * 257; /* 8-bit v -> 16-bit, same level */
        for (int c = 0; c < 4; c++) {
            int s = c == 3 ? 65535 : v;
            row[8 * x + 2 * c] = (uint8_t)(s >> 8);
            row[8 * x + 2 * c + 1] = (uint8_t)s;
        }
    }
}

/* Grey but for one red pixel in the last row. */
static void late_colour_row(int y, int w, int h, uint8_t *row)
{
    for (int x = 0; x < w; x++)
        row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = (uint8_t)content(x, y, w, h);
    if (y == h - 1)
        row[3 * (w / 2)] = 255;
}

/* ---------------------------------------------------------------- checks */

static cnn_image synthetic_image(int w, int h)
{
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, w, h, 1, NULL), CNN_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img.data[(size_t)y * w + x] = (float)content(x, y, w, h);
    return img;
}

static cnn_image decode(const uint8_t *bytes, size_t len)
{
    cnn_image img;
    cnn_error err = {0};
    ck_assert_msg(cnn_image_decode(bytes, len, 0, &img, &err) == CNN_OK, "%s",
                  err.message);
    return img;
}

/* Largest |difference| of the two images' 299x299 model inputs, in grey
 * levels (unit scaling: 1/255 is one level). */
static double input_difference(const char *what, const cnn_image *got,
                               const cnn_image *want)
{
    enum { S = 299 };
    float *a = malloc(sizeof(float) * 3 * S * S);
    float *b = malloc(sizeof(float) * 3 * S * S);
    ck_assert(cnn_image_to_input(got, S, CNN_PREPROC_UNIT, a, NULL) == CNN_OK);
    ck_assert(cnn_image_to_input(want, S, CNN_PREPROC_UNIT, b, NULL) == CNN_OK);
    double worst = 0, sum = 0;
    for (int i = 0; i < 3 * S * S; i++) {
        double d = fabs((double)a[i] - b[i]) * 255.0;
        sum += d;
        worst = d > worst ? d : worst;
    }
    printf("%s: %dx%d decoded; model input vs full size: mean |diff| %.4f, "
           "max %.3f grey levels\n", what, got->width, got->height,
           sum / (3 * S * S), worst);
    free(a);
    free(b);
    return worst;
}

/* Pixel (x, y) of the reduced image is the mean of its 2x2 block. */
static void expect_block_means(const cnn_image *img, int w, int h)
{
    static const int probes[][2] = {{0, 0}, {7, 3}, {1000, 1500}, {2049, 2049},
                                    {1700, 1800}, {100, 1500}};
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        int ox = probes[i][0], oy = probes[i][1], n = 0;
        double sum = 0;
        for (int y = 2 * oy; y < 2 * oy + 2 && y < h; y++)
            for (int x = 2 * ox; x < 2 * ox + 2 && x < w; x++, n++)
                sum += content(x, y, w, h);
        ck_assert_float_eq_tol(img->data[(size_t)oy * img->width + ox],
                               sum / n, 1e-4);
    }
}

START_TEST(large_grey_png_is_reduced_by_block_means)
{
    content = patterns;
    size_t len;
    uint8_t *png = encode_png(SIDE, SIDE, PNG_COLOR_TYPE_GRAY, 8,
                              PNG_INTERLACE_NONE, grey8_row, &len);
    cnn_image img = decode(png, len), full = synthetic_image(SIDE, SIDE);
    ck_assert(img.width == SIDE / 2 && img.height == SIDE / 2 && img.channels == 1);
    ck_assert_uint_le((size_t)img.width * img.height, CNN_IMAGE_MAX_DECODED_SAMPLES);
    expect_block_means(&img, SIDE, SIDE);
    /* hard edges: measured 1.09 levels at most (docs/web.md) */
    ck_assert_double_le(input_difference("test patterns, PNG 4100x4100", &img,
                                         &full), 1.2);
    cnn_image_free(&img);
    cnn_image_free(&full);
    free(png);

    /* odd sides: the last blocks are cut short and average what they have */
    png = encode_png(SIDE + 1, SIDE - 1, PNG_COLOR_TYPE_GRAY, 8,
                     PNG_INTERLACE_NONE, grey8_row, &len);
    img = decode(png, len);
    ck_assert(img.width == (SIDE + 2) / 2 && img.height == SIDE / 2);
    ck_assert_float_eq_tol(img.data[(size_t)img.height * img.width - 1],
                           content(SIDE, SIDE - 2, SIDE + 1, SIDE - 1), 1e-4);
    cnn_image_free(&img);
    free(png);
}
END_TEST

START_TEST(adam7_gives_what_rows_give)
{
    content = patterns;
    size_t len_rows, len_adam7;
    uint8_t *rows = encode_png(SIDE, SIDE, PNG_COLOR_TYPE_GRAY, 8,
                               PNG_INTERLACE_NONE, grey8_row, &len_rows);
    uint8_t *adam7 = encode_png(SIDE, SIDE, PNG_COLOR_TYPE_GRAY, 8,
                                PNG_INTERLACE_ADAM7, grey8_row, &len_adam7);
    cnn_image a = decode(rows, len_rows), b = decode(adam7, len_adam7);
    ck_assert(a.width == b.width && a.height == b.height && b.channels == 1);
    float worst = 0; /* sums in another order */
    for (size_t i = 0; i < (size_t)a.width * a.height; i++)
        worst = fmaxf(worst, fabsf(a.data[i] - b.data[i]));
    ck_assert_float_le(worst, 1e-4f);
    cnn_image_free(&a);
    cnn_image_free(&b);
    free(rows);
    free(adam7);
}
END_TEST

START_TEST(grey_rgba16_png_takes_one_plane)
{
    content = xray;
    size_t len;
    uint8_t *png = encode_png(SIDE, SIDE, PNG_COLOR_TYPE_RGB_ALPHA, 16,
                              PNG_INTERLACE_NONE, grey_rgba16_row, &len);
    cnn_image img = decode(png, len), full = synthetic_image(SIDE, SIDE);
    /* a grey image's reduction, not three planes' */
    ck_assert(img.width == SIDE / 2 && img.channels == 1);
    expect_block_means(&img, SIDE, SIDE);
    ck_assert_double_le(input_difference("X-ray, 16-bit RGBA PNG 4100x4100",
                                         &img, &full), 1.0);
    cnn_image_free(&img);
    cnn_image_free(&full);
    free(png);
}
END_TEST

START_TEST(late_colour_restarts_with_room_for_it)
{
    content = patterns;
    /* 2400 x 2400: one plane fits unreduced, three do not. */
    enum { W = 2400 };
    size_t len;
    uint8_t *png = encode_png(W, W, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE,
                              late_colour_row, &len);
    cnn_image img = decode(png, len);
    ck_assert(img.width == W / 2 && img.height == W / 2 && img.channels == 3);
    size_t plane = (size_t)img.width * img.height;
    /* the red pixel's block: one of its four pixels is 255 in red */
    size_t red = plane - (size_t)img.width + W / 4;
    float green = img.data[plane + red], was = (float)content(W / 2, W - 1, W, W);
    ck_assert_float_eq_tol(img.data[red] - green, (255.0f - was) / 4, 1e-3);
    ck_assert_float_eq(img.data[2 * plane + red], green);
    cnn_image_free(&img);
    free(png);

    /* small enough for three planes: they are added where colour shows up,
     * and the pixels stay exact */
    png = encode_png(300, 200, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE,
                     late_colour_row, &len);
    img = decode(png, len);
    ck_assert(img.width == 300 && img.height == 200 && img.channels == 3);
    plane = 300 * 200;
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 300; x++) {
            float v = (float)content(x, y, 300, 200);
            size_t i = (size_t)y * 300 + x;
            ck_assert_float_eq(img.data[plane + i], v);
            ck_assert_float_eq(img.data[2 * plane + i], v);
            ck_assert_float_eq(img.data[i], y == 199 && x == 150 ? 255.0f : v);
        }
    cnn_image_free(&img);
    free(png);
}
END_TEST

START_TEST(large_jpeg_is_reduced_by_block_means)
{
    content = xray;
    size_t len;
    uint8_t *jpeg = encode_jpeg(SIDE, SIDE, 0, 0, &len);
    cnn_image img = decode(jpeg, len), full = decode_jpeg_full(jpeg, len);
    ck_assert(img.width == SIDE / 2 && img.height == SIDE / 2 && img.channels == 1);
    ck_assert_double_le(input_difference("X-ray, grey JPEG 4100x4100", &img,
                                         &full), 1.0);
    cnn_image_free(&img);
    cnn_image_free(&full);
    free(jpeg);

    /* colour from the first row: the first try (one plane unreduced) starts
     * again with room for three */
    jpeg = encode_jpeg(2400, 2400, 0, 1, &len);
    img = decode(jpeg, len);
    ck_assert(img.width == 1200 && img.height == 1200 && img.channels == 3);
    cnn_image_free(&img);
    free(jpeg);

    /* at most what fits unreduced: exactly libjpeg's decoding, as before */
    jpeg = encode_jpeg(3000, 2000, 0, 0, &len);
    img = decode(jpeg, len);
    full = decode_jpeg_full(jpeg, len);
    ck_assert(img.width == 3000 && img.height == 2000);
    ck_assert_mem_eq(img.data, full.data, sizeof(float) * 3000 * 2000);
    cnn_image_free(&img);
    cnn_image_free(&full);
    free(jpeg);
}
END_TEST

static void expect_too_large(const uint8_t *bytes, size_t len, const char *text)
{
    cnn_image img;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_decode(bytes, len, 0, &img, &err), CNN_ERR_TOO_LARGE);
    ck_assert_msg(strstr(err.message, text) != NULL, "'%s' lacks '%s'",
                  err.message, text);
    ck_assert_ptr_null(img.data);
}

START_TEST(long_sides_and_progressive_coefficients_are_refused)
{
    content = patterns;
    /* libpng's buffers hold rows: 70000 x 1 is few pixels but long rows */
    size_t len;
    uint8_t *png = encode_png(70000, 1, PNG_COLOR_TYPE_GRAY, 8,
                              PNG_INTERLACE_NONE, zero_row, &len);
    expect_too_large(png, len, "image is 70000x1: sides over 65535 pixels");
    free(png);
    /* a progressive JPEG whose frame header (SOF2: ff c2, length,
     * precision, height, width) claims 7200 x 7200: 99 MiB of coefficients */
    uint8_t *jpeg = encode_jpeg(64, 64, 1, 0, &len);
    size_t sof = 2;
    while (sof + 9 < len && !(jpeg[sof] == 0xff && jpeg[sof + 1] == 0xc2))
        sof++;
    ck_assert_uint_lt(sof + 9, len);
    jpeg[sof + 5] = jpeg[sof + 7] = 7200 >> 8;
    jpeg[sof + 6] = jpeg[sof + 8] = 7200 & 0xff;
    expect_too_large(jpeg, len, "progressive JPEG of 7200x7200: decoding it "
                                "takes 99 MiB of coefficients, over the 96 MiB");
    free(jpeg);
    /* 4200 x 4200 (34 MiB) decodes */
    jpeg = encode_jpeg(4200, 4200, 1, 0, &len);
    cnn_image img = decode(jpeg, len);
    ck_assert_int_eq(img.width, 4200 / 2);
    cnn_image_free(&img);
    free(jpeg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decode_large");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 300); /* sanitizers on a busy machine */
    tcase_add_test(tc, large_grey_png_is_reduced_by_block_means);
    tcase_add_test(tc, adam7_gives_what_rows_give);
    tcase_add_test(tc, grey_rgba16_png_takes_one_plane);
    tcase_add_test(tc, late_colour_restarts_with_room_for_it);
    tcase_add_test(tc, large_jpeg_is_reduced_by_block_means);
    tcase_add_test(tc, long_sides_and_progressive_coefficients_are_refused);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
