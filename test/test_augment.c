/* test_augment.c - augmentation: identities, hand-computed pixel positions
 * after rotation/flip/translation/zoom, photometric factors, seeding, and
 * the preview grid. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "augment.h"
#include "util/suite.h"

static cnn_image random_image(int w, int h, int c, uint64_t seed)
{
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, w, h, c, NULL), CNN_OK);
    cnn_rng rng;
    cnn_rng_seed(&rng, seed);
    for (int i = 0; i < w * h * c; i++)
        img.data[i] = 255.0f * cnn_rng_uniform(&rng);
    return img;
}

static float at(const cnn_image *img, int c, int x, int y)
{
    return img->data[((size_t)c * img->height + y) * img->width + x];
}

static const cnn_augment_draw identity = {0.0f, 1.0f, 0.0f, 0.0f, 0, 1.0f, 1.0f};

START_TEST(zero_strength_is_identity)
{
    cnn_image src = random_image(23, 17, 3, 1), dst;
    const cnn_augment_params off = {0};
    cnn_rng rng;
    cnn_rng_seed(&rng, 99);
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(cnn_augment_image(&off, &rng, &src, &dst, NULL), CNN_OK);
        for (int i = 0; i < 23 * 17 * 3; i++)
            ck_assert_float_eq_tol(dst.data[i], src.data[i], 1e-6f);
        cnn_image_free(&dst);
    }
    cnn_image_free(&src);
}
END_TEST

START_TEST(flips)
{
    cnn_image src = random_image(8, 5, 1, 2), once, twice;
    cnn_augment_draw flip = identity;
    flip.flip = 1;
    ck_assert_int_eq(cnn_augment_apply(&flip, &src, &once, NULL), CNN_OK);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 8; x++)
            ck_assert_float_eq(at(&once, 0, x, y), at(&src, 0, 7 - x, y));
    ck_assert_int_eq(cnn_augment_apply(&flip, &once, &twice, NULL), CNN_OK);
    ck_assert_mem_eq(twice.data, src.data, sizeof(float) * 40);
    cnn_image_free(&src);
    cnn_image_free(&once);
    cnn_image_free(&twice);
}
END_TEST

/* A 31x31 black image with a 3x3 white block centred at (bx, by). */
static cnn_image block_image(int bx, int by)
{
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, 31, 31, 1, NULL), CNN_OK);
    memset(img.data, 0, sizeof(float) * 31 * 31);
    for (int y = by - 1; y <= by + 1; y++)
        for (int x = bx - 1; x <= bx + 1; x++)
            img.data[y * 31 + x] = 200.0f;
    return img;
}

/* The only bright pixels of img are the 3x3 block around (bx, by). */
static void expect_block_at(const cnn_image *img, int bx, int by, const char *what)
{
    for (int y = 0; y < 31; y++)
        for (int x = 0; x < 31; x++) {
            int inside = abs(x - bx) <= 1 && abs(y - by) <= 1;
            ck_assert_msg(fabsf(at(img, 0, x, y) - (inside ? 200.0f : 0.0f)) < 1e-3f,
                          "%s: pixel (%d,%d) = %g", what, x, y,
                          (double)at(img, 0, x, y));
        }
}

START_TEST(rotation_moves_pattern)
{
    /* Block right of the centre (15, 15). Turning the picture 90 degrees
     * counter-clockwise puts it above the centre; -90 below. */
    cnn_image src = block_image(24, 15), dst;
    cnn_augment_draw d = identity;
    d.angle_deg = 90.0f;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    expect_block_at(&dst, 15, 6, "+90");
    cnn_image_free(&dst);
    d.angle_deg = -90.0f;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    expect_block_at(&dst, 15, 24, "-90");
    cnn_image_free(&dst);
    d.angle_deg = 180.0f;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    expect_block_at(&dst, 6, 15, "180");
    cnn_image_free(&dst);
    cnn_image_free(&src);
}
END_TEST

START_TEST(translation_and_zoom)
{
    /* shift_x 0.1 of 30 px = 3 px right; the left edge replicates column 0. */
    cnn_image src = random_image(30, 4, 1, 3), dst;
    cnn_augment_draw d = identity;
    d.shift_x = 0.1f;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 30; x++)
            ck_assert_float_eq_tol(at(&dst, 0, x, y), at(&src, 0, x >= 3 ? x - 3 : 0, y),
                                   1e-4f);
    cnn_image_free(&dst);
    cnn_image_free(&src);

    /* Zoom 2 about the centre of a 31x31 image: output (15+2k, 15) shows
     * source (15+k, 15). */
    src = random_image(31, 31, 1, 4);
    d = identity;
    d.scale = 2.0f;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    for (int k = -7; k <= 7; k++)
        ck_assert_float_eq_tol(at(&dst, 0, 15 + 2 * k, 15), at(&src, 0, 15 + k, 15),
                               1e-3f);
    /* Halfway between two source pixels: their mean. */
    ck_assert_float_eq_tol(at(&dst, 0, 16, 15),
                           0.5f * (at(&src, 0, 15, 15) + at(&src, 0, 16, 15)), 1e-3f);
    cnn_image_free(&dst);
    cnn_image_free(&src);
}
END_TEST

START_TEST(brightness_and_contrast)
{
    cnn_image src, dst;
    ck_assert_int_eq(cnn_image_alloc(&src, 2, 1, 1, NULL), CNN_OK);
    src.data[0] = 100.0f;
    src.data[1] = 200.0f;
    cnn_augment_draw d = identity;
    d.brightness = 1.5f;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    ck_assert_float_eq_tol(dst.data[0], 150.0f, 1e-4f);
    ck_assert_float_eq_tol(dst.data[1], 255.0f, 1e-4f); /* clamped from 300 */
    cnn_image_free(&dst);
    d = identity;
    d.contrast = 0.5f; /* mean 150: 100 -> 125, 200 -> 175 */
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    ck_assert_float_eq_tol(dst.data[0], 125.0f, 1e-4f);
    ck_assert_float_eq_tol(dst.data[1], 175.0f, 1e-4f);
    cnn_image_free(&dst);
    cnn_image_free(&src);
}
END_TEST

/* Augments 4 images with all transforms on, from one seed, into out. */
static void augment_batch(uint64_t seed, float *out)
{
    cnn_augment_params p = cnn_augment_defaults();
    p.hflip = 1;
    cnn_rng rng;
    cnn_rng_seed(&rng, seed);
    for (int i = 0; i < 4; i++) {
        cnn_image src = random_image(20, 16, 1, 10 + i), dst;
        ck_assert_int_eq(cnn_augment_image(&p, &rng, &src, &dst, NULL), CNN_OK);
        memcpy(out + i * 320, dst.data, sizeof(float) * 320);
        cnn_image_free(&src);
        cnn_image_free(&dst);
    }
}

START_TEST(seeding)
{
    static float a[4 * 320], b[4 * 320], c[4 * 320];
    augment_batch(7, a);
    augment_batch(7, b);
    augment_batch(8, c);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, c, sizeof a) != 0);

    /* Switching rotation off leaves the other draws as they were. */
    cnn_augment_params p = cnn_augment_defaults(), q = p;
    q.rotation_deg = 0.0f;
    cnn_rng r1, r2;
    cnn_rng_seed(&r1, 5);
    cnn_rng_seed(&r2, 5);
    cnn_augment_draw d1, d2;
    cnn_augment_sample(&p, &r1, &d1);
    cnn_augment_sample(&q, &r2, &d2);
    ck_assert_float_ne(d1.angle_deg, 0.0f);
    ck_assert_float_eq(d2.angle_deg, 0.0f);
    ck_assert_float_eq(d1.scale, d2.scale);
    ck_assert_float_eq(d1.contrast, d2.contrast);
    ck_assert(fabsf(d1.angle_deg) <= 10.0f && fabsf(d1.scale - 1.0f) <= 0.1f);
}
END_TEST

START_TEST(preview_grid)
{
    const char *paths[] = {"test/fixtures/images/xray_normal_IM-0115-0001.jpeg",
                           "test/fixtures/images/png_rgb8.png"};
    char out[64];
    snprintf(out, sizeof out, "/tmp/test_augment_grid_%d.png", (int)getpid());
    cnn_augment_params p = cnn_augment_defaults();
    cnn_error err = {0};
    ck_assert_msg(cnn_augment_preview_grid(paths, 2, 5, 16, &p, 1, out, &err) ==
                      CNN_OK, "%s", err.message);
    cnn_image grid;
    ck_assert_int_eq(cnn_image_load(out, 0, &grid, &err), CNN_OK);
    /* 5 tiles: 3 columns x 2 rows of 16 px with 4-px gaps. */
    ck_assert_int_eq(grid.width, 3 * 16 + 4 * 4);
    ck_assert_int_eq(grid.height, 2 * 16 + 3 * 4);
    ck_assert_int_eq(grid.channels, 3);
    cnn_image_free(&grid);
    unlink(out);
    ck_assert_int_eq(cnn_augment_preview_grid(paths, 2, 0, 16, &p, 1, out, &err),
                     CNN_ERR_ARG);
    const char *missing[] = {"test/fixtures/images/missing.png"};
    ck_assert_int_eq(cnn_augment_preview_grid(missing, 1, 2, 16, &p, 1, out, &err),
                     CNN_ERR_IO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("augment");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, zero_strength_is_identity);
    tcase_add_test(tc, flips);
    tcase_add_test(tc, rotation_moves_pattern);
    tcase_add_test(tc, translation_and_zoom);
    tcase_add_test(tc, brightness_and_contrast);
    tcase_add_test(tc, seeding);
    tcase_add_test(tc, preview_grid);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
