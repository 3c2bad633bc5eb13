/* test_degrade.c - the model's input pipeline and the pipeline
 * augmentations against independent references (test/gen_golden_degrade.py:
 * Pillow's Image.resize with each filter in its 8-bit and its float path,
 * Pillow's JPEG save + decode, scipy.ndimage.gaussian_filter, the gamma
 * formula in float64), and properties: the down-up round trip, noise
 * statistics and seeding, rectangle clipping, refused JPEG arguments, and
 * cnn_input_finish / cnn_model_input against the steps done by hand. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "degrade.h"
#include "model.h"
#include "util/golden.h"
#include "util/suite.h"

#define GOLDEN "test/golden/degrade.bin"

static const char *const FILTERS[] = {"bicubic", "bilinear", "box", "lanczos",
                                      "nearest"};
static const int SIZES[][2] = {{14, 11}, {5, 4}, {33, 26}, {45, 35}, {23, 45}};
#define NSIZES ((int)(sizeof SIZES / sizeof SIZES[0]))

/* An image holding a golden array [h][w] or [c][h][w]. */
static cnn_image image_of(const golden_array *a)
{
    cnn_image img;
    int c = a->ndim == 3 ? a->dims[0] : 1;
    int h = a->dims[a->ndim - 2], w = a->dims[a->ndim - 1];
    ck_assert_int_eq(cnn_image_alloc(&img, w, h, c, NULL), CNN_OK);
    memcpy(img.data, a->data, sizeof(float) * a->count);
    return img;
}

static size_t pixels(const cnn_image *img)
{
    return (size_t)img->width * img->height * img->channels;
}

/* Max and mean |got - want| over n values, printed as the measured figures
 * of the report, then checked against the tolerances. */
static void expect_close(const char *what, const float *got, const float *want,
                         size_t n, double max_tol, double mean_tol)
{
    double worst = 0.0, sum = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        sum += d;
        if (d > worst)
            worst = d, at = i;
    }
    printf("%-28s max |diff| %.6f  mean %.6f\n", what, worst, sum / n);
    ck_assert_msg(worst <= max_tol, "%s: value %zu is %.6f, reference %.6f "
                  "(max |diff| %.6f > %.6f)", what, at, (double)got[at],
                  (double)want[at], worst, max_tol);
    ck_assert_msg(sum / n <= mean_tol, "%s: mean |diff| %.6f > %.6f", what,
                  sum / n, mean_tol);
}

static void expect_same_size(const cnn_image *img, int w, int h, int c)
{
    ck_assert_int_eq(img->width, w);
    ck_assert_int_eq(img->height, h);
    ck_assert_int_eq(img->channels, c);
}

/* ------------------------------------------------------------ resize */

/* One filter (loop index) at every size, against both of Pillow's paths.
 *
 * Float path (mode "F", double weights, no rounding, and an input that no
 * clamp touches): only float rounding separates us: float weights and
 * sums, ~1 ulp of 255 (1.5e-5) per tap, |diff| < 2e-4.
 *
 * 8-bit path (mode "L"): Pillow rounds the horizontal pass to 8 bits
 * (error <= 0.5, which the vertical kernel passes on scaled by the sum of
 * its |weights|: up to ~1.3 for the cubic and Lanczos lobes) and rounds its
 * result (<= 0.5); we keep floats. So |diff| < 0.5 + 0.5 * 1.3 ~ 1.15 for the
 * convolution filters; nearest copies pixels and must agree exactly. */
START_TEST(resize_matches_pillow)
{
    const char *name = FILTERS[_i];
    golden_file *g = golden_load(GOLDEN);
    cnn_resize_filter f;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_resize_filter_parse(name, &f, &err), CNN_OK);
    ck_assert_str_eq(cnn_resize_filter_name(f), name);
    const int nearest = f == CNN_RESIZE_NEAREST;
    cnn_image grey = image_of(golden_get(g, "src_grey"));
    cnn_image mid = image_of(golden_get(g, "src_mid"));
    for (int s = 0; s < NSIZES; s++) {
        const int w = SIZES[s][0], h = SIZES[s][1];
        char key[64], what[64];
        cnn_image out;
        ck_assert_int_eq(cnn_image_resize_filter(&grey, w, h, f, &out, &err), CNN_OK);
        expect_same_size(&out, w, h, 1);
        snprintf(key, sizeof key, "resize8.%s.%dx%d", name, w, h);
        snprintf(what, sizeof what, "%s 37x29->%dx%d 8-bit", name, w, h);
        expect_close(what, out.data, golden_get(g, key)->data, pixels(&out),
                     nearest ? 0.0 : 1.2, nearest ? 0.0 : 0.4);
        cnn_image_free(&out);

        ck_assert_int_eq(cnn_image_resize_filter(&mid, w, h, f, &out, &err), CNN_OK);
        snprintf(key, sizeof key, "resizef.%s.%dx%d", name, w, h);
        snprintf(what, sizeof what, "%s 37x29->%dx%d float", name, w, h);
        expect_close(what, out.data, golden_get(g, key)->data, pixels(&out),
                     nearest ? 0.0 : 2e-4, nearest ? 0.0 : 5e-5);
        cnn_image_free(&out);
    }
    cnn_image_free(&grey);
    cnn_image_free(&mid);
    golden_free(g);
}
END_TEST

START_TEST(resize_filter_names_and_errors)
{
    cnn_resize_filter f;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_resize_filter_parse("cubic", &f, &err), CNN_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "\"cubic\""));
    ck_assert_str_eq(cnn_resize_filter_name((cnn_resize_filter)17), "unknown");
    cnn_image img, out;
    ck_assert_int_eq(cnn_image_alloc(&img, 6, 5, 1, NULL), CNN_OK);
    for (int i = 0; i < 30; i++)
        img.data[i] = (float)(i * 8);
    ck_assert_int_eq(cnn_image_resize_filter(&img, 3, 3, (cnn_resize_filter)17,
                                             &out, &err), CNN_ERR_ARG);
    ck_assert_ptr_null(out.data);
    ck_assert_int_eq(cnn_image_resize_filter(&img, 0, 3, CNN_RESIZE_BOX, &out, &err),
                     CNN_ERR_ARG);
    /* cnn_image_resize is the bicubic filter */
    cnn_image a, b;
    ck_assert_int_eq(cnn_image_resize(&img, 4, 7, &a, &err), CNN_OK);
    ck_assert_int_eq(cnn_image_resize_filter(&img, 4, 7, CNN_RESIZE_BICUBIC, &b, &err),
                     CNN_OK);
    ck_assert_mem_eq(a.data, b.data, sizeof(float) * 28);
    cnn_image_free(&a);
    cnn_image_free(&b);
    cnn_image_free(&img);
}
END_TEST

/* ------------------------------------------------------------ JPEG */

static void check_jpeg(const golden_file *g, const char *src_key, const char *prefix,
                       const int *qualities, int nq)
{
    cnn_image src = image_of(golden_get(g, src_key));
    for (int i = 0; i < nq; i++) {
        char key[64], what[64];
        snprintf(key, sizeof key, "%s.%d", prefix, qualities[i]);
        snprintf(what, sizeof what, "%s q%d", prefix, qualities[i]);
        cnn_image out;
        cnn_error err = {0};
        ck_assert_msg(cnn_image_jpeg_roundtrip(&src, qualities[i], &out, &err) == CNN_OK,
                      "%s", err.message);
        expect_same_size(&out, src.width, src.height, src.channels);
        /* The same libjpeg-turbo with the same settings on both sides
         * (baseline, jpeg_set_quality, libjpeg's default 4:2:0 for RGB,
         * islow DCT, fancy upsampling): bit-identical. */
        expect_close(what, out.data, golden_get(g, key)->data, pixels(&out), 0.0, 0.0);
        cnn_image_free(&out);
    }
    cnn_image_free(&src);
}

START_TEST(jpeg_matches_pillow)
{
    golden_file *g = golden_load(GOLDEN);
    static const int grey_q[] = {1, 10, 50, 75, 100}, rgb_q[] = {30, 90};
    check_jpeg(g, "src_grey", "jpeg_grey", grey_q, 5);
    check_jpeg(g, "src_rgb", "jpeg_rgb", rgb_q, 2);

    /* Pixels are rounded (and clamped) to 8 bits before encoding. */
    cnn_image src = image_of(golden_get(g, "src_grey")), moved = src, a, b;
    ck_assert_int_eq(cnn_image_alloc(&moved, src.width, src.height, 1, NULL), CNN_OK);
    for (size_t i = 0; i < pixels(&src); i++)
        moved.data[i] = src.data[i] == 0.0f     ? -30.0f
                        : src.data[i] == 255.0f ? 400.0f
                                                : src.data[i] + 0.3f;
    ck_assert_int_eq(cnn_image_jpeg_roundtrip(&src, 60, &a, NULL), CNN_OK);
    ck_assert_int_eq(cnn_image_jpeg_roundtrip(&moved, 60, &b, NULL), CNN_OK);
    ck_assert_mem_eq(a.data, b.data, sizeof(float) * pixels(&a));
    cnn_image_free(&a);
    cnn_image_free(&b);
    cnn_image_free(&moved);
    cnn_image_free(&src);
    golden_free(g);
}
END_TEST

START_TEST(jpeg_refuses_bad_arguments)
{
    cnn_image img, out;
    ck_assert_int_eq(cnn_image_alloc(&img, 8, 8, 4, NULL), CNN_OK);
    for (int i = 0; i < 8 * 8 * 4; i++)
        img.data[i] = (float)(i % 256);
    cnn_error err = {0};
    img.channels = 1;
    static const int bad_q[] = {0, 101, -5};
    for (int i = 0; i < 3; i++) {
        out.data = (float *)&out; /* must be cleared */
        ck_assert_int_eq(cnn_image_jpeg_roundtrip(&img, bad_q[i], &out, &err),
                         CNN_ERR_ARG);
        ck_assert_ptr_null(out.data);
        ck_assert_msg(strstr(err.message, "quality"), "%s", err.message);
    }
    for (int c = 2; c <= 4; c += 2) {
        img.channels = c;
        ck_assert_int_eq(cnn_image_jpeg_roundtrip(&img, 75, &out, &err), CNN_ERR_ARG);
        ck_assert_ptr_null(out.data);
        ck_assert_msg(strstr(err.message, "channels"), "%s", err.message);
    }
    /* 1 and 100 are valid */
    img.channels = 3;
    ck_assert_int_eq(cnn_image_jpeg_roundtrip(&img, 1, &out, &err), CNN_OK);
    cnn_image_free(&out);
    ck_assert_int_eq(cnn_image_jpeg_roundtrip(&img, 100, &out, &err), CNN_OK);
    cnn_image_free(&out);
    cnn_image_free(&img);
}
END_TEST

/* ------------------------------------------------------------ blur, gamma */

/* scipy works in float64; we sum 2 radius + 1 float products per pass:
 * a few ulp of 255 (1.5e-5 each), |diff| < 2e-4. The radius must be
 * scipy's int(3 sigma + 0.5): sigma 0.7 and 1.1 catch ceil(3 sigma), whose
 * extra taps moved pixels by up to 0.06. */
START_TEST(blur_matches_scipy)
{
    golden_file *g = golden_load(GOLDEN);
    static const int sigmas[] = {30, 70, 110, 230, 600}; /* hundredths */
    cnn_image src = image_of(golden_get(g, "src_grey"));
    for (int i = 0; i < 5; i++) {
        cnn_image img = image_of(golden_get(g, "src_grey"));
        char key[32], what[64];
        snprintf(key, sizeof key, "gauss.%d", sigmas[i]);
        snprintf(what, sizeof what, "gaussian sigma %.2f", sigmas[i] / 100.0);
        ck_assert_int_eq(cnn_image_gaussian_blur(&img, sigmas[i] / 100.0f, NULL), CNN_OK);
        expect_same_size(&img, 37, 29, 1);
        expect_close(what, img.data, golden_get(g, key)->data, pixels(&img), 2e-4, 3e-5);
        cnn_image_free(&img);
    }
    /* sigma <= 0: unchanged */
    cnn_image img = image_of(golden_get(g, "src_grey"));
    ck_assert_int_eq(cnn_image_gaussian_blur(&img, 0.0f, NULL), CNN_OK);
    ck_assert_int_eq(cnn_image_gaussian_blur(&img, -1.0f, NULL), CNN_OK);
    ck_assert_mem_eq(img.data, src.data, sizeof(float) * pixels(&src));
    cnn_image_free(&img);
    cnn_image_free(&src);
    golden_free(g);
}
END_TEST

START_TEST(gamma_matches_formula)
{
    golden_file *g = golden_load(GOLDEN);
    static const int gammas[] = {50, 74, 135, 220};
    const golden_array *in = golden_get(g, "gamma_in");
    for (int i = 0; i < 4; i++) {
        cnn_image img;
        ck_assert_int_eq(cnn_image_alloc(&img, (int)in->count, 1, 1, NULL), CNN_OK);
        memcpy(img.data, in->data, sizeof(float) * in->count);
        cnn_image_gamma(&img, gammas[i] / 100.0f);
        char key[32], what[64];
        snprintf(key, sizeof key, "gamma.%d", gammas[i]);
        snprintf(what, sizeof what, "gamma %.2f", gammas[i] / 100.0);
        /* powf and the float product: a few ulp of 255 (1.5e-5 each) */
        expect_close(what, img.data, golden_get(g, key)->data, in->count, 1e-4, 2e-5);
        cnn_image_free(&img);
    }
    golden_free(g);
}
END_TEST

/* ------------------------------------------------------------ rescale */

START_TEST(rescale_roundtrip_properties)
{
    golden_file *g = golden_load(GOLDEN);
    cnn_image src = image_of(golden_get(g, "src_rgb"));
    golden_free(g);
    cnn_error err = {0};
    static const float factors[] = {0.35f, 0.5f, 0.77f};
    for (int down = 0; down < 5; down++)
        for (int up = 0; up < 5; up++) {
            /* factor 1: nothing changes, whatever the filters */
            cnn_image img = src;
            ck_assert_int_eq(cnn_image_alloc(&img, src.width, src.height, 3, NULL), CNN_OK);
            memcpy(img.data, src.data, sizeof(float) * pixels(&src));
            ck_assert_int_eq(cnn_image_rescale_roundtrip(&img, 1.0f, down, up, &err),
                             CNN_OK);
            ck_assert_mem_eq(img.data, src.data, sizeof(float) * pixels(&src));
            for (int k = 0; k < 3; k++) {
                ck_assert_int_eq(cnn_image_rescale_roundtrip(&img, factors[k], down, up,
                                                             &err), CNN_OK);
                expect_same_size(&img, 37, 29, 3);
                memcpy(img.data, src.data, sizeof(float) * pixels(&src));
                ck_assert_int_eq(cnn_image_rescale_roundtrip(&img, factors[k], down, up,
                                                             &err), CNN_OK);
                /* by hand: to round(factor * side), then back */
                cnn_image small, back;
                int w = (int)lrint(factors[k] * 37.0), h = (int)lrint(factors[k] * 29.0);
                ck_assert_int_eq(cnn_image_resize_filter(&src, w, h, down, &small, &err),
                                 CNN_OK);
                ck_assert_int_eq(cnn_image_resize_filter(&small, 37, 29, up, &back, &err),
                                 CNN_OK);
                ck_assert_mem_eq(img.data, back.data, sizeof(float) * pixels(&src));
                cnn_image_free(&small);
                cnn_image_free(&back);
                memcpy(img.data, src.data, sizeof(float) * pixels(&src));
            }
            cnn_image_free(&img);
        }

    /* a tiny factor leaves one pixel: box down gives the mean, any
     * convolution up spreads it flat */
    cnn_image img = src;
    ck_assert_int_eq(cnn_image_alloc(&img, src.width, src.height, 3, NULL), CNN_OK);
    memcpy(img.data, src.data, sizeof(float) * pixels(&src));
    ck_assert_int_eq(cnn_image_rescale_roundtrip(&img, 0.01f, CNN_RESIZE_BOX,
                                                 CNN_RESIZE_BICUBIC, &err), CNN_OK);
    expect_same_size(&img, 37, 29, 3);
    const size_t plane = 37 * 29;
    for (int c = 0; c < 3; c++) {
        double mean = 0.0;
        for (size_t i = 0; i < plane; i++)
            mean += src.data[c * plane + i];
        mean /= plane;
        for (size_t i = 0; i < plane; i++)
            ck_assert_double_eq_tol(img.data[c * plane + i], mean, 1e-3);
    }
    /* refused factors leave the image alone */
    static const float bad[] = {0.0f, -0.5f, 1.5f, NAN};
    memcpy(img.data, src.data, sizeof(float) * pixels(&src));
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(cnn_image_rescale_roundtrip(&img, bad[k], CNN_RESIZE_BOX,
                                                     CNN_RESIZE_BILINEAR, &err),
                         CNN_ERR_ARG);
        ck_assert_mem_eq(img.data, src.data, sizeof(float) * pixels(&src));
    }
    cnn_image_free(&img);
    cnn_image_free(&src);
}
END_TEST

/* ------------------------------------------------------------ noise */

static cnn_image flat(int w, int h, int c, float v)
{
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, w, h, c, NULL), CNN_OK);
    for (size_t i = 0; i < pixels(&img); i++)
        img.data[i] = v;
    return img;
}

START_TEST(noise_statistics_and_seeding)
{
    enum { SIDE = 256, N = SIDE * SIDE };
    const float sd = 4.0f;
    cnn_image a = flat(SIDE, SIDE, 1, 128.0f), b = flat(SIDE, SIDE, 1, 128.0f);
    cnn_image_add_noise(&a, sd, 11);
    cnn_image_add_noise(&b, sd, 11);
    ck_assert_mem_eq(a.data, b.data, sizeof(float) * N);
    double m = 0.0, v = 0.0;
    int within = 0;
    for (int i = 0; i < N; i++)
        m += a.data[i] - 128.0;
    m /= N;
    for (int i = 0; i < N; i++) {
        double d = a.data[i] - 128.0 - m;
        v += d * d;
        within += fabs(a.data[i] - 128.0) <= sd;
    }
    double s = sqrt(v / (N - 1)), p = (double)within / N;
    printf("noise sd 4: mean %.4f, sd %.4f, within 1 sd %.4f (N %d)\n", m, s, p, N);
    /* 4 standard errors: mean sd/sqrt(N) = 0.016; sample sd about
     * sd/sqrt(2N) = 0.011; a Gaussian's 68.27% within one sd, 0.0018 */
    ck_assert_double_lt(fabs(m), 4 * sd / sqrt(N));
    ck_assert_double_lt(fabs(s - sd), 4 * sd / sqrt(2.0 * N));
    ck_assert_double_lt(fabs(p - 0.6827), 4 * sqrt(0.6827 * 0.3173 / N));

    /* another seed, other noise; sd 0 changes nothing */
    cnn_image_free(&b);
    b = flat(SIDE, SIDE, 1, 128.0f);
    cnn_image_add_noise(&b, sd, 12);
    ck_assert(memcmp(a.data, b.data, sizeof(float) * N) != 0);
    cnn_image_free(&b);
    b = flat(SIDE, SIDE, 1, 128.0f);
    cnn_image_add_noise(&b, 0.0f, 12);
    for (int i = 0; i < N; i++)
        ck_assert(b.data[i] == 128.0f);
    cnn_image_free(&a);
    cnn_image_free(&b);

    /* clamped: on black about half the pixels stay 0, none goes below;
     * every channel gets its own noise */
    a = flat(64, 64, 3, 0.0f);
    cnn_image_add_noise(&a, 10.0f, 3);
    int zeros = 0, same = 0;
    for (int i = 0; i < 64 * 64 * 3; i++) {
        ck_assert(a.data[i] >= 0.0f && a.data[i] <= 255.0f);
        zeros += a.data[i] == 0.0f;
    }
    for (int i = 0; i < 64 * 64; i++)
        same += a.data[i] == a.data[64 * 64 + i];
    ck_assert_int_lt(abs(zeros - 64 * 64 * 3 / 2), 4 * 55); /* sqrt(12288)/2 = 55 */
    ck_assert_int_lt(same, 64 * 64 / 2 + 4 * 32);
    cnn_image_free(&a);
}
END_TEST

/* ------------------------------------------------------------ fill_rect */

START_TEST(fill_rect_clips)
{
    static const int rects[][4] = {
        {-2, -1, 4, 3},     /* over the top-left corner */
        {5, 3, 10, 10},     /* over the bottom-right corner */
        {-10, -10, 100, 100}, /* covers everything */
        {7, 0, 3, 3},       /* right of the image */
        {0, 5, 3, 3},       /* below it */
        {-5, 1, 5, 2},      /* left of it, touching */
        {2, 2, 0, 3},       /* empty */
        {3, 1, -2, 2},      /* negative width */
        {1, 1, 3, 2},       /* inside */
    };
    for (size_t r = 0; r < sizeof rects / sizeof rects[0]; r++) {
        const int *q = rects[r];
        cnn_image img;
        ck_assert_int_eq(cnn_image_alloc(&img, 7, 5, 3, NULL), CNN_OK);
        for (int i = 0; i < 105; i++)
            img.data[i] = (float)i;
        cnn_image_fill_rect(&img, q[0], q[1], q[2], q[3], 300.0f);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 7; x++) {
                    int i = (c * 5 + y) * 7 + x;
                    int inside = x >= q[0] && x < q[0] + q[2] && y >= q[1] &&
                                 y < q[1] + q[3];
                    ck_assert_msg(img.data[i] == (inside ? 300.0f : (float)i),
                                  "rect %zu: pixel (%d,%d,%d) = %g", r, c, x, y,
                                  (double)img.data[i]);
                }
        cnn_image_free(&img);
    }
}
END_TEST

/* ------------------------------------------------------------ input pipeline */

static const cnn_preproc PREPROCS[] = {CNN_PREPROC_UNIT, CNN_PREPROC_SYMMETRIC,
                                       CNN_PREPROC_UNIT_STANDARDIZED,
                                       CNN_PREPROC_SYMMETRIC_STANDARDIZED};

START_TEST(input_finish)
{
    golden_file *g = golden_load(GOLDEN);
    cnn_image src = image_of(golden_get(g, "src_rgb")), sq, jpeg;
    golden_free(g);
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_resize_filter(&src, 24, 24, CNN_RESIZE_LANCZOS, &sq, &err),
                     CNN_OK);
    float a[3 * 24 * 24], b[3 * 24 * 24];
    for (int k = 0; k < 4; k++) {
        /* quality 0: exactly cnn_image_to_input */
        ck_assert_int_eq(cnn_input_finish(&sq, 0, PREPROCS[k], a, &err), CNN_OK);
        ck_assert_int_eq(cnn_image_to_input(&sq, 24, PREPROCS[k], b, &err), CNN_OK);
        ck_assert_mem_eq(a, b, sizeof a);
        /* quality q: the JPEG round trip, then the same */
        ck_assert_int_eq(cnn_input_finish(&sq, 40, PREPROCS[k], a, &err), CNN_OK);
        ck_assert_int_eq(cnn_image_jpeg_roundtrip(&sq, 40, &jpeg, &err), CNN_OK);
        ck_assert_int_eq(cnn_image_to_input(&jpeg, 24, PREPROCS[k], b, &err), CNN_OK);
        ck_assert_mem_eq(a, b, sizeof a);
        cnn_image_free(&jpeg);
    }
    ck_assert_int_eq(cnn_input_finish(&src, 0, CNN_PREPROC_UNIT, a, &err), CNN_ERR_ARG);
    ck_assert_msg(strstr(err.message, "not square"), "%s", err.message);
    cnn_image_free(&sq);
    cnn_image_free(&src);
}
END_TEST

/* cnn_model_input against resize + JPEG + scaling called one by one. */
static void expect_model_input(const cnn_model_config *cfg, const cnn_image *img)
{
    const int s = cfg->input_size;
    float *got = malloc(sizeof(float) * 3 * s * s), *want = malloc(sizeof(float) * 3 * s * s);
    cnn_error err = {0};
    ck_assert_msg(cnn_model_input(cfg, img, got, &err) == CNN_OK, "%s", err.message);
    cnn_image sized, jpeg;
    if (img->width != s || img->height != s) {
        ck_assert_int_eq(cnn_image_resize_filter(img, s, s, cfg->resize_filter, &sized,
                                                 &err), CNN_OK);
    } else {
        sized = *img;
    }
    const cnn_image *cur = &sized;
    if (cfg->input_jpeg_quality > 0) {
        ck_assert_int_eq(cnn_image_jpeg_roundtrip(&sized, cfg->input_jpeg_quality, &jpeg,
                                                  &err), CNN_OK);
        cur = &jpeg;
    }
    ck_assert_int_eq(cnn_image_to_input(cur, s, cfg->preprocess, want, &err), CNN_OK);
    ck_assert_mem_eq(got, want, sizeof(float) * 3 * s * s);
    if (cfg->input_jpeg_quality > 0)
        cnn_image_free(&jpeg);
    if (sized.data != img->data)
        cnn_image_free(&sized);
    free(got);
    free(want);
}

START_TEST(model_input_is_the_pipeline)
{
    golden_file *g = golden_load(GOLDEN);
    cnn_image grey = image_of(golden_get(g, "src_grey"));
    cnn_image rgb = image_of(golden_get(g, "src_rgb"));
    golden_free(g);
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, CNN_ARCH_INCEPTION_V3);
    ck_assert_int_eq(cfg.resize_filter, CNN_RESIZE_BILINEAR); /* new models */
    ck_assert_int_eq(cfg.input_jpeg_quality, 75);
    cfg.input_size = 20;
    expect_model_input(&cfg, &grey);
    expect_model_input(&cfg, &rgb);
    for (int f = 0; f < 5; f++) {
        cfg.resize_filter = (cnn_resize_filter)f;
        cfg.input_jpeg_quality = f == 2 ? 0 : 30 + 15 * f;
        cfg.preprocess = PREPROCS[f % 4];
        expect_model_input(&cfg, &grey);
        expect_model_input(&cfg, &rgb);
    }
    /* already at the input size: no resize, whatever the filter */
    cfg.input_size = 37;
    cnn_image sq;
    ck_assert_int_eq(cnn_image_resize_filter(&grey, 37, 37, CNN_RESIZE_BOX, &sq, NULL),
                     CNN_OK);
    cfg.input_jpeg_quality = 75;
    expect_model_input(&cfg, &sq);
    cfg.input_jpeg_quality = 0;
    expect_model_input(&cfg, &sq);

    /* An RGB file holding a grey picture reaches the network as the grey
     * file does (training collapses such images to one channel first). */
    cfg.input_size = 20;
    cfg.input_jpeg_quality = 75;
    cfg.resize_filter = CNN_RESIZE_BILINEAR;
    cfg.preprocess = CNN_PREPROC_UNIT;
    cnn_image grey3;
    ck_assert_int_eq(cnn_image_alloc(&grey3, 37, 29, 3, NULL), CNN_OK);
    for (int c = 0; c < 3; c++)
        memcpy(grey3.data + c * 37 * 29, grey.data, sizeof(float) * 37 * 29);
    float a[3 * 400], b[3 * 400];
    ck_assert_int_eq(cnn_model_input(&cfg, &grey, a, NULL), CNN_OK);
    ck_assert_int_eq(cnn_model_input(&cfg, &grey3, b, NULL), CNN_OK);
    expect_close("model input grey vs RGB grey", b, a, 3 * 400, 0.0, 0.0);
    cnn_image_free(&grey3);
    cnn_image_free(&sq);
    cnn_image_free(&grey);
    cnn_image_free(&rgb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("degrade");
    TCase *tc = tcase_create("resize");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, resize_matches_pillow, 0, 5);
    tcase_add_test(tc, resize_filter_names_and_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("jpeg");
    tcase_add_test(tc, jpeg_matches_pillow);
    tcase_add_test(tc, jpeg_refuses_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("degrade");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, blur_matches_scipy);
    tcase_add_test(tc, gamma_matches_formula);
    tcase_add_test(tc, rescale_roundtrip_properties);
    tcase_add_test(tc, noise_statistics_and_seeding);
    tcase_add_test(tc, fill_rect_clips);
    suite_add_tcase(s, tc);
    tc = tcase_create("input_pipeline");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, input_finish);
    tcase_add_test(tc, model_input_is_the_pipeline);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
