/* test_resize.c - antialiased resize against Pillow's Image.resize (references
 * made by test/gen_fixtures_images.py), and model-input preprocessing. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "util/suite.h"

#define FIXTURES "test/fixtures/images/"

/* The same integer formula as synthetic_pixel in gen_fixtures_images.py:
 * a 1500x1200 grey image with gradients, a disc, a checkerboard and 1-px
 * stripes. */
static cnn_image synthetic_image(void)
{
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, 1500, 1200, 1, NULL), CNN_OK);
    for (int y = 0; y < 1200; y++)
        for (int x = 0; x < 1500; x++) {
            int v = (x * 255 / 1499 + y * 255 / 1199) / 2;
            if ((x - 600) * (x - 600) + (y - 500) * (y - 500) < 300 * 300)
                v = 255 - v;
            if (x < 400 && y > 700)
                v = ((x / 37 + y / 37) % 2) * 200 + 20;
            if (x > 1100 && y > 800)
                v = ((x + y / 3) % 2) * 255;
            img.data[(size_t)y * 1500 + x] = (float)v;
        }
    return img;
}

/* Mean and max |a - b| over a's pixels; sizes must agree. */
static void compare(const char *what, const cnn_image *got,
                    const cnn_image *want, double max_mean, double max_abs)
{
    ck_assert(got->width == want->width && got->height == want->height &&
              got->channels == want->channels);
    size_t n = (size_t)got->width * got->height * got->channels;
    double sum = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got->data[i] - want->data[i]);
        sum += d;
        worst = d > worst ? d : worst;
    }
    printf("%s: mean |diff| %.4f/255, max %.2f/255\n", what, sum / n, worst);
    ck_assert_msg(sum / n <= max_mean, "%s: mean |diff| %.4f > %.4f", what,
                  sum / n, max_mean);
    ck_assert_msg(worst <= max_abs, "%s: max |diff| %.2f > %.2f", what, worst,
                  max_abs);
}

static cnn_image load(const char *path)
{
    cnn_image img;
    cnn_error err = {0};
    ck_assert_msg(cnn_image_load(path, 0, &img, &err) == CNN_OK, "%s", err.message);
    return img;
}

START_TEST(downscale_matches_pillow)
{
    cnn_image big = synthetic_image(), small;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_resize(&big, 224, 224, &small, &err), CNN_OK);
    cnn_image want = load(FIXTURES "resize_synthetic_224.png");
    /* Pillow rounds to 8 bits after each pass; the rest is identical. */
    compare("1500x1200 -> 224x224", &small, &want, 2.0, 3.0);
    cnn_image_free(&small);
    cnn_image_free(&want);

    ck_assert_int_eq(cnn_image_resize(&big, 150, 100, &small, &err), CNN_OK);
    want = load(FIXTURES "resize_synthetic_150x100.png");
    compare("1500x1200 -> 150x100", &small, &want, 2.0, 3.0);
    cnn_image_free(&small);
    cnn_image_free(&want);
    cnn_image_free(&big);
}
END_TEST

START_TEST(stripes_average_to_grey)
{
    /* Independent of Pillow: 1-px black/white stripes downscaled 10x must
     * come out near 127.5 everywhere (an aliasing resampler gives 0 or 255). */
    cnn_image img, small;
    ck_assert_int_eq(cnn_image_alloc(&img, 400, 300, 1, NULL), CNN_OK);
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 400; x++)
            img.data[y * 400 + x] = (x % 2) * 255.0f;
    ck_assert_int_eq(cnn_image_resize(&img, 40, 30, &small, NULL), CNN_OK);
    /* Away from the borders (where the kernel is cut and renormalized). */
    for (int y = 0; y < 30; y++)
        for (int x = 1; x < 39; x++)
            ck_assert_float_eq_tol(small.data[y * 40 + x], 127.5f, 1.0f);
    cnn_image_free(&img);
    cnn_image_free(&small);
}
END_TEST

START_TEST(upscale_matches_pillow)
{
    /* An RGB file of three equal planes: decoded as the one grey plane
     * that Pillow's convert("L") gives too. */
    cnn_image xray = load(FIXTURES "xray_normal_IM-0115-0001.jpeg"), big;
    ck_assert_int_eq(xray.channels, 1);
    ck_assert_int_eq(cnn_image_resize(&xray, 299, 299, &big, NULL), CNN_OK);
    cnn_image want = load(FIXTURES "resize_xray_299.png");
    compare("224x224 -> 299x299", &big, &want, 1.0, 2.0);
    cnn_image_free(&xray);
    cnn_image_free(&big);
    cnn_image_free(&want);
}
END_TEST

START_TEST(same_size_is_identity)
{
    cnn_image img, out;
    ck_assert_int_eq(cnn_image_alloc(&img, 5, 4, 3, NULL), CNN_OK);
    for (int i = 0; i < 60; i++)
        img.data[i] = (float)(i * 4);
    ck_assert_int_eq(cnn_image_resize(&img, 5, 4, &out, NULL), CNN_OK);
    ck_assert_mem_eq(out.data, img.data, sizeof(float) * 60);
    cnn_image_free(&out);
    /* Only one axis changes: the other keeps its values exactly. */
    ck_assert_int_eq(cnn_image_resize(&img, 5, 2, &out, NULL), CNN_OK);
    ck_assert(out.width == 5 && out.height == 2 && out.channels == 3);
    cnn_image_free(&out);
    cnn_image_free(&img);
}
END_TEST

START_TEST(to_input_scaling_and_grey)
{
    cnn_image grey;
    ck_assert_int_eq(cnn_image_alloc(&grey, 2, 2, 1, NULL), CNN_OK);
    const float px[4] = {0.0f, 51.0f, 127.5f, 255.0f};
    memcpy(grey.data, px, sizeof px);
    float out[3 * 4];
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_to_input(&grey, 2, CNN_PREPROC_UNIT, out, &err),
                     CNN_OK);
    const float unit[4] = {0.0f, 0.2f, 0.5f, 1.0f};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq_tol(out[c * 4 + i], unit[i], 1e-6f);
    ck_assert_int_eq(cnn_image_to_input(&grey, 2, CNN_PREPROC_SYMMETRIC, out, &err),
                     CNN_OK);
    const float sym[4] = {-1.0f, -0.6f, 0.0f, 1.0f};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq_tol(out[c * 4 + i], sym[i], 1e-6f);
    cnn_image_free(&grey);

    /* RGB keeps its channels apart; resizing a flat image keeps it flat. */
    cnn_image rgb;
    ck_assert_int_eq(cnn_image_alloc(&rgb, 9, 7, 3, NULL), CNN_OK);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 63; i++)
            rgb.data[c * 63 + i] = 51.0f * (c + 1);
    float in4[3 * 16];
    ck_assert_int_eq(cnn_image_to_input(&rgb, 4, CNN_PREPROC_UNIT, in4, &err),
                     CNN_OK);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 16; i++)
            ck_assert_float_eq_tol(in4[c * 16 + i], 0.2f * (c + 1), 1e-5f);
    cnn_image_free(&rgb);
}
END_TEST

/* Two-pass mean and standard deviation, the test's own reference. */
static void mean_sd(const float *x, int n, double *mean, double *sd)
{
    double m = 0.0, v = 0.0;
    for (int i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (int i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = sqrt(v / n);
}

START_TEST(standardized_modes)
{
    enum { N = 16 };
    cnn_image img, brighter;
    ck_assert_int_eq(cnn_image_alloc(&img, 4, 4, 1, NULL), CNN_OK);
    ck_assert_int_eq(cnn_image_alloc(&brighter, 4, 4, 1, NULL), CNN_OK);
    for (int i = 0; i < N; i++) {
        img.data[i] = (float)((i * 37) % 200);
        /* another exposure and contrast, no clipping */
        brighter.data[i] = 0.6f * img.data[i] + 70.0f;
    }
    double m, sd;
    mean_sd(img.data, N, &m, &sd);
    float out[3 * N], out_b[3 * N], sym[3 * N];
    cnn_error err = {0};
    ck_assert_int_eq(cnn_image_to_input(&img, 4, CNN_PREPROC_UNIT_STANDARDIZED,
                                        out, &err), CNN_OK);
    ck_assert_int_eq(cnn_image_to_input(&brighter, 4, CNN_PREPROC_UNIT_STANDARDIZED,
                                        out_b, &err), CNN_OK);
    ck_assert_int_eq(cnn_image_to_input(&img, 4, CNN_PREPROC_SYMMETRIC_STANDARDIZED,
                                        sym, &err), CNN_OK);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < N; i++) {
            double want = (img.data[i] - m) / sd * CNN_STANDARD_SD + CNN_STANDARD_MEAN;
            ck_assert_double_eq_tol(out[c * N + i], want, 1e-5);
            ck_assert_double_eq_tol(out_b[c * N + i], want, 1e-5);
            ck_assert_double_eq_tol(sym[c * N + i], 2.0 * want - 1.0, 1e-5);
        }
    double om, osd;
    mean_sd(out, N, &om, &osd);
    ck_assert_double_eq_tol(om, CNN_STANDARD_MEAN, 1e-5);
    ck_assert_double_eq_tol(osd, CNN_STANDARD_SD, 1e-5);

    /* one grey level: no spread to scale, the standard mean everywhere */
    for (int i = 0; i < N; i++)
        img.data[i] = 200.0f;
    ck_assert_int_eq(cnn_image_to_input(&img, 4, CNN_PREPROC_UNIT_STANDARDIZED,
                                        out, &err), CNN_OK);
    for (int i = 0; i < 3 * N; i++)
        ck_assert_float_eq_tol(out[i], CNN_STANDARD_MEAN, 1e-6f);
    cnn_image_free(&img);
    cnn_image_free(&brighter);
}
END_TEST

START_TEST(collapse_grey_rgb)
{
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, 3, 2, 3, NULL), CNN_OK);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 6; i++)
            img.data[c * 6 + i] = (float)(i * 40);
    ck_assert_int_eq(cnn_image_collapse_grey(&img), 1);
    ck_assert_int_eq(img.channels, 1);
    ck_assert_int_eq(cnn_image_collapse_grey(&img), 0); /* already grey */
    img.channels = 3;
    img.data[2 * 6 + 5] += 1.0f; /* one blue value differs */
    ck_assert_int_eq(cnn_image_collapse_grey(&img), 0);
    ck_assert_int_eq(img.channels, 3);
    cnn_image_free(&img);
}
END_TEST

START_TEST(preproc_names)
{
    cnn_preproc p;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_preproc_parse("unit", &p, &err), CNN_OK);
    ck_assert_int_eq(p, CNN_PREPROC_UNIT);
    ck_assert_int_eq(cnn_preproc_parse("symmetric", &p, &err), CNN_OK);
    ck_assert_int_eq(p, CNN_PREPROC_SYMMETRIC);
    ck_assert_str_eq(cnn_preproc_name(CNN_PREPROC_SYMMETRIC), "symmetric");
    for (int i = CNN_PREPROC_UNIT; i <= CNN_PREPROC_SYMMETRIC_STANDARDIZED; i++) {
        ck_assert_int_eq(cnn_preproc_parse(cnn_preproc_name((cnn_preproc)i), &p, &err),
                         CNN_OK);
        ck_assert_int_eq(p, i);
    }
    ck_assert_str_eq(cnn_preproc_name(CNN_PREPROC_UNIT_STANDARDIZED),
                     "unit-standardized");
    ck_assert_int_eq(cnn_preproc_parse("caffe", &p, &err), CNN_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "caffe"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("resize");
    TCase *tc = tcase_create("resize");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, downscale_matches_pillow);
    tcase_add_test(tc, stripes_average_to_grey);
    tcase_add_test(tc, standardized_modes);
    tcase_add_test(tc, upscale_matches_pillow);
    tcase_add_test(tc, same_size_is_identity);
    tcase_add_test(tc, to_input_scaling_and_grey);
    tcase_add_test(tc, collapse_grey_rgb);
    tcase_add_test(tc, preproc_names);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
