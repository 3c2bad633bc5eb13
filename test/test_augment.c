/* test_augment.c - augmentation: identities, hand-computed pixel positions
 * after rotation/flip/translation/zoom, photometric factors, seeding, the
 * independence of each transform's draws, border patches and glyphs where
 * the draw puts them, the draws' ranges and frequencies, the order of the
 * pipeline steps, and the preview grid. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "augment.h"
#include "degrade.h"
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

/* Every factor 1, everything else 0 (gamma and rescale are factors too). */
static const cnn_augment_draw identity = {.scale = 1.0f, .brightness = 1.0f,
                                          .contrast = 1.0f, .gamma = 1.0f,
                                          .rescale = 1.0f};

START_TEST(zero_strength_is_identity)
{
    /* odd and even sides, RGB and grey: the source comes back bit for bit */
    static const int shapes[][3] = {{23, 17, 3}, {24, 18, 1}, {1, 1, 1}};
    for (int s = 0; s < 3; s++) {
        const int n = shapes[s][0] * shapes[s][1] * shapes[s][2];
        cnn_image src = random_image(shapes[s][0], shapes[s][1], shapes[s][2], 1), dst;
        const cnn_augment_params off = {0};
        cnn_rng rng;
        cnn_rng_seed(&rng, 99);
        for (int k = 0; k < 5; k++) {
            ck_assert_int_eq(cnn_augment_image(&off, &rng, &src, &dst, NULL), CNN_OK);
            ck_assert_mem_eq(dst.data, src.data, sizeof(float) * n);
            cnn_image_free(&dst);
        }
        ck_assert_int_eq(cnn_augment_apply(&identity, &src, &dst, NULL), CNN_OK);
        ck_assert_mem_eq(dst.data, src.data, sizeof(float) * n);
        cnn_image_free(&dst);
        cnn_image_free(&src);
    }
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

/* ------------------------------------------------ the pipeline and shortcut
 * transforms (gamma, patches, glyphs, rescale, blur, noise, JPEG) */

/* The draw's fields, grouped by the parameter that switches them on. */
enum { G_ROT, G_ZOOM, G_SHIFT, G_FLIP, G_BRIGHT, G_CONTRAST, G_GAMMA, G_ERASE,
       G_MARKERS, G_RESCALE, G_BLUR, G_NOISE, G_JPEG, GROUPS };

static void switch_off(cnn_augment_params *p, int g)
{
    switch (g) {
    case G_ROT: p->rotation_deg = 0.0f; break;
    case G_ZOOM: p->zoom = 0.0f; break;
    case G_SHIFT: p->translate = 0.0f; break;
    case G_FLIP: p->hflip = 0; break;
    case G_BRIGHT: p->brightness = 0.0f; break;
    case G_CONTRAST: p->contrast = 0.0f; break;
    case G_GAMMA: p->gamma = 0.0f; break;
    case G_ERASE: p->erase = 0.0f; break;
    case G_MARKERS: p->markers = 0.0f; break;
    case G_RESCALE: p->rescale_min = 0.0f; break;
    case G_BLUR: p->blur = 0.0f; break;
    case G_NOISE: p->noise = 0.0f; break;
    case G_JPEG: p->jpeg_min = 0; break;
    }
}

/* 1 when group g of d does nothing. */
static int is_off(const cnn_augment_draw *d, int g)
{
    switch (g) {
    case G_ROT: return d->angle_deg == 0.0f;
    case G_ZOOM: return d->scale == 1.0f;
    case G_SHIFT: return d->shift_x == 0.0f && d->shift_y == 0.0f;
    case G_FLIP: return d->flip == 0;
    case G_BRIGHT: return d->brightness == 1.0f;
    case G_CONTRAST: return d->contrast == 1.0f;
    case G_GAMMA: return d->gamma == 1.0f;
    case G_ERASE: return d->patches == 0;
    case G_MARKERS: return d->glyphs == 0;
    case G_RESCALE: return d->rescale == 1.0f;
    case G_BLUR: return d->blur_sigma == 0.0f;
    case G_NOISE: return d->noise_sd == 0.0f;
    case G_JPEG: return d->jpeg_quality == 0;
    }
    return 0;
}

static int same_group(const cnn_augment_draw *a, const cnn_augment_draw *b, int g)
{
    switch (g) {
    case G_ROT: return a->angle_deg == b->angle_deg;
    case G_ZOOM: return a->scale == b->scale;
    case G_SHIFT: return a->shift_x == b->shift_x && a->shift_y == b->shift_y;
    case G_FLIP: return a->flip == b->flip;
    case G_BRIGHT: return a->brightness == b->brightness;
    case G_CONTRAST: return a->contrast == b->contrast;
    case G_GAMMA: return a->gamma == b->gamma;
    case G_ERASE:
        return a->patches == b->patches && !memcmp(a->patch, b->patch, sizeof a->patch) &&
               !memcmp(a->patch_level, b->patch_level, sizeof a->patch_level);
    case G_MARKERS:
        return a->glyphs == b->glyphs && !memcmp(a->glyph, b->glyph, sizeof a->glyph) &&
               !memcmp(a->glyph_level, b->glyph_level, sizeof a->glyph_level) &&
               !memcmp(a->glyph_shape, b->glyph_shape, sizeof a->glyph_shape);
    case G_RESCALE:
        return a->rescale == b->rescale && a->rescale_down == b->rescale_down &&
               a->rescale_up == b->rescale_up;
    case G_BLUR: return a->blur_sigma == b->blur_sigma;
    case G_NOISE: return a->noise_sd == b->noise_sd && a->noise_seed == b->noise_seed;
    case G_JPEG: return a->jpeg_quality == b->jpeg_quality;
    }
    return 0;
}

START_TEST(one_switch_leaves_the_other_draws)
{
    cnn_augment_params p = cnn_augment_defaults();
    p.hflip = 1;
    for (int g = 0; g < GROUPS; g++) {
        cnn_augment_params q = p;
        switch_off(&q, g);
        int used = 0;
        for (uint64_t seed = 0; seed < 300; seed++) {
            cnn_rng r1, r2;
            cnn_rng_seed(&r1, seed);
            cnn_rng_seed(&r2, seed);
            cnn_augment_draw d1, d2;
            cnn_augment_sample(&p, &r1, &d1);
            cnn_augment_sample(&q, &r2, &d2);
            ck_assert_msg(is_off(&d2, g), "group %d switched off but drawn", g);
            used += !is_off(&d1, g);
            for (int h = 0; h < GROUPS; h++)
                ck_assert_msg(h == g || same_group(&d1, &d2, h),
                              "switching group %d off changed group %d (seed %d)", g,
                              h, (int)seed);
            /* the same count of numbers consumed */
            ck_assert(cnn_rng_next(&r1) == cnn_rng_next(&r2));
        }
        ck_assert_msg(used > 0, "group %d never drawn with the defaults", g);
    }
}
END_TEST

/* src with the rectangle of fractions r filled with level: the pixels whose
 * centres lie in [x, x + w) x [y, y + h). */
static void paint_expected(cnn_image *img, const float r[4], float level)
{
    const int w = img->width, h = img->height;
    for (int c = 0; c < img->channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double fx = (x + 0.5) / w, fy = (y + 0.5) / h;
                if (fx >= r[0] && fx < (double)r[0] + r[2] && fy >= r[1] &&
                    fy < (double)r[1] + r[3])
                    img->data[((size_t)c * h + y) * w + x] = level;
            }
}

START_TEST(patches_fill_expected_rectangles)
{
    cnn_augment_params p = {0};
    p.erase = 1.0f;
    static const int shapes[][3] = {{41, 33, 1}, {40, 40, 3}, {17, 23, 1}};
    for (int s = 0; s < 3; s++) {
        const int w = shapes[s][0], h = shapes[s][1], c = shapes[s][2];
        const size_t n = (size_t)w * h * c;
        cnn_image src = random_image(w, h, c, 20 + s), dst, want;
        ck_assert_int_eq(cnn_image_alloc(&want, w, h, c, NULL), CNN_OK);
        int edges[4] = {0}; /* patches reaching column 0, row 0, last column, last row */
        for (uint64_t seed = 0; seed < 200; seed++) {
            cnn_rng rng;
            cnn_rng_seed(&rng, seed);
            cnn_augment_draw d;
            cnn_augment_sample(&p, &rng, &d);
            ck_assert(d.patches == 1 || d.patches == 2);
            ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
            memcpy(want.data, src.data, sizeof(float) * n);
            for (int i = 0; i < d.patches; i++) {
                paint_expected(&want, d.patch[i], d.patch_level[i]);
                edges[0] += d.patch[i][0] == 0.0f;
                edges[1] += d.patch[i][1] == 0.0f;
                edges[2] += d.patch[i][0] + d.patch[i][2] > 0.9999f;
                edges[3] += d.patch[i][1] + d.patch[i][3] > 0.9999f;
            }
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(dst.data[i] == want.data[i],
                              "%dx%dx%d seed %d: pixel %zu (x %zu, y %zu) is %g, "
                              "expected %g (source %g)", w, h, c, (int)seed, i,
                              i % w, i / w % h, (double)dst.data[i],
                              (double)want.data[i], (double)src.data[i]);
            cnn_image_free(&dst);
        }
        for (int e = 0; e < 4; e++)
            ck_assert_int_gt(edges[e], 0);
        cnn_image_free(&want);
        cnn_image_free(&src);
    }
}
END_TEST

START_TEST(glyphs_stay_in_their_rectangle)
{
    cnn_augment_params p = {0};
    p.markers = 1.0f;
    const int w = 150, h = 150; /* glyphs of 6-12 px (under 3 px: none) */
    cnn_image src;
    ck_assert_int_eq(cnn_image_alloc(&src, w, h, 1, NULL), CNN_OK);
    for (int i = 0; i < w * h; i++)
        src.data[i] = 20.5f; /* neither a glyph level nor a quarter of one */
    for (uint64_t seed = 0; seed < 200; seed++) {
        cnn_rng rng;
        cnn_rng_seed(&rng, seed);
        cnn_augment_draw d;
        cnn_augment_sample(&p, &rng, &d);
        ck_assert(d.glyphs == 1 || d.glyphs == 2);
        cnn_image dst;
        ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
        int bright = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float v = dst.data[y * w + x];
                if (v == 20.5f)
                    continue;
                int in = 0;
                for (int i = 0; i < d.glyphs; i++) {
                    const float *r = d.glyph[i];
                    /* within the rectangle, give or take the rounding pixel */
                    if (x + 1 >= r[0] * w && x < (r[0] + r[2]) * w + 1 &&
                        y + 1 >= r[1] * h && y < (r[1] + r[3]) * h + 1 &&
                        (v == d.glyph_level[i] || v == 0.25f * d.glyph_level[i]))
                        in = 1;
                }
                ck_assert_msg(in, "seed %d: pixel (%d,%d) = %g outside every glyph",
                              (int)seed, x, y, (double)v);
                bright += v >= 190.0f;
            }
        /* most of a 3-5 px block shows the glyph's level */
        ck_assert_int_ge(bright, 4);
        cnn_image_free(&dst);
    }
    cnn_image_free(&src);
}
END_TEST

/* Fraction k/n within 4 standard errors of probability q. */
static void expect_share(const char *what, int k, int n, double q)
{
    double se = sqrt(q * (1.0 - q) / n), share = (double)k / n;
    ck_assert_msg(fabs(share - q) <= 4.0 * se, "%s: %.4f of %d draws, expected %.4f "
                  "+- %.4f", what, share, n, q, 4.0 * se);
}

START_TEST(draws_stay_in_documented_ranges)
{
    enum { N = 20000 };
    const cnn_augment_params p = cnn_augment_defaults();
    const float eps = 1e-6f;
    cnn_rng rng;
    cnn_rng_seed(&rng, 2024);
    int erased = 0, two_patches = 0, patch_count = 0, black = 0, white = 0;
    int marked = 0, two_glyphs = 0, rescaled = 0, down[5] = {0}, bilinear_up = 0;
    int blurred = 0, noisy = 0, jpeg = 0, qmin = 100, qmax = 0;
    int both[4][4] = {{0}}, erased_and_marked = 0; /* pairs of steps */
    double qsum = 0.0;
    for (int k = 0; k < N; k++) {
        cnn_augment_draw d;
        cnn_augment_sample(&p, &rng, &d);
        ck_assert(fabsf(d.angle_deg) <= p.rotation_deg);
        ck_assert(fabsf(d.scale - 1.0f) <= p.zoom + eps);
        ck_assert(fabsf(d.shift_x) <= p.translate && fabsf(d.shift_y) <= p.translate);
        ck_assert(d.flip == 0); /* hflip is off by default */
        ck_assert(fabsf(d.brightness - 1.0f) <= p.brightness + eps);
        ck_assert(fabsf(d.contrast - 1.0f) <= p.contrast + eps);
        ck_assert(d.gamma >= expf(-p.gamma) - eps && d.gamma <= expf(p.gamma) + eps);

        ck_assert(d.patches >= 0 && d.patches <= 2);
        erased += d.patches > 0;
        two_patches += d.patches == 2;
        for (int i = 0; i < d.patches; i++) {
            const float *r = d.patch[i];
            ck_assert(r[2] >= 0.08f && r[2] <= 0.25f && r[3] >= 0.08f && r[3] <= 0.25f);
            ck_assert(r[0] >= 0.0f && r[1] >= 0.0f && r[0] + r[2] <= 1.0f + eps &&
                      r[1] + r[3] <= 1.0f + eps);
            /* at a border or in a corner */
            ck_assert(r[0] == 0.0f || r[1] == 0.0f || r[0] + r[2] >= 1.0f - eps ||
                      r[1] + r[3] >= 1.0f - eps);
            ck_assert(d.patch_level[i] >= 0.0f && d.patch_level[i] <= 255.0f);
            patch_count++;
            black += d.patch_level[i] == 0.0f;
            white += d.patch_level[i] == 255.0f;
        }

        ck_assert(d.glyphs >= 0 && d.glyphs <= 2);
        marked += d.glyphs > 0;
        two_glyphs += d.glyphs == 2;
        for (int i = 0; i < d.glyphs; i++) {
            const float *r = d.glyph[i];
            ck_assert(r[2] >= 0.04f && r[2] <= 0.08f + eps);
            ck_assert(fabsf(r[3] - 1.4f * r[2]) <= eps);
            /* inside the image ... */
            ck_assert_msg(r[0] >= 0.0f && r[1] >= 0.0f && r[0] + r[2] <= 1.0f + eps &&
                          r[1] + r[3] <= 1.0f + eps, "glyph %g,%g %gx%g leaves the "
                          "image", (double)r[0], (double)r[1], (double)r[2], (double)r[3]);
            /* ... and in its outer fifth */
            ck_assert(r[0] <= 0.2f || r[1] <= 0.2f || r[0] + r[2] >= 0.8f ||
                      r[1] + r[3] >= 0.8f);
            ck_assert(d.glyph_level[i] >= 190.0f && d.glyph_level[i] <= 255.0f);
            ck_assert(d.glyph_shape[i] >= 0 && d.glyph_shape[i] <= 3);
        }

        if (d.rescale != 1.0f) {
            rescaled++;
            ck_assert(d.rescale >= p.rescale_min && d.rescale < 1.0f);
            ck_assert(d.rescale_down >= 0 && d.rescale_down < 5);
            down[d.rescale_down]++;
            ck_assert(d.rescale_up == CNN_RESIZE_BILINEAR ||
                      d.rescale_up == CNN_RESIZE_BICUBIC);
            bilinear_up += d.rescale_up == CNN_RESIZE_BILINEAR;
        }
        ck_assert(d.blur_sigma >= 0.0f && d.blur_sigma < p.blur);
        blurred += d.blur_sigma > 0.0f;
        ck_assert(d.noise_sd >= 0.0f && d.noise_sd < p.noise);
        noisy += d.noise_sd > 0.0f;
        if (d.jpeg_quality) {
            jpeg++;
            ck_assert(d.jpeg_quality >= p.jpeg_min && d.jpeg_quality <= 95);
            qmin = d.jpeg_quality < qmin ? d.jpeg_quality : qmin;
            qmax = d.jpeg_quality > qmax ? d.jpeg_quality : qmax;
            qsum += d.jpeg_quality;
        }
        const int on[4] = {d.rescale != 1.0f, d.blur_sigma > 0.0f, d.noise_sd > 0.0f,
                           d.jpeg_quality > 0};
        for (int a = 0; a < 4; a++)
            for (int b = a + 1; b < 4; b++)
                both[a][b] += on[a] && on[b];
        erased_and_marked += d.patches > 0 && d.glyphs > 0;
    }
    expect_share("patches", erased, N, p.erase);
    expect_share("two patches", two_patches, erased, 0.5);
    expect_share("black patches", black, patch_count, 1.0 / 3);
    expect_share("white patches", white, patch_count, 1.0 / 3);
    expect_share("glyphs", marked, N, p.markers);
    expect_share("two glyphs", two_glyphs, marked, 0.5);
    expect_share("rescale", rescaled, N, 0.5);
    for (int f = 0; f < 5; f++)
        expect_share("rescale down filter", down[f], rescaled, 0.2);
    expect_share("rescale up bilinear", bilinear_up, rescaled, 0.5);
    expect_share("blur", blurred, N, 0.5);
    expect_share("noise", noisy, N, 0.5);
    expect_share("jpeg", jpeg, N, 0.5);
    /* each decided by its own draw: every pair together a quarter of the
     * time, patches with glyphs 0.3 * 0.3 */
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            expect_share("two pipeline steps", both[a][b], N, 0.25);
    expect_share("patches and glyphs", erased_and_marked, N, p.erase * p.markers);
    /* quality uniform over jpeg_min..95: both ends drawn, mean in the middle
     * (sd of 66 equally likely values 19.05; 4 standard errors) */
    ck_assert_int_eq(qmin, p.jpeg_min);
    ck_assert_int_eq(qmax, 95);
    ck_assert_double_lt(fabs(qsum / jpeg - 0.5 * (p.jpeg_min + 95)),
                        4.0 * 19.05 / sqrt(jpeg));

    /* jpeg_min 95: always 95 when drawn */
    cnn_augment_params q = p;
    q.jpeg_min = 95;
    for (int k = 0; k < 200; k++) {
        cnn_augment_draw d;
        cnn_augment_sample(&q, &rng, &d);
        ck_assert(d.jpeg_quality == 0 || d.jpeg_quality == 95);
    }
}
END_TEST

static cnn_image copy_image(const cnn_image *src)
{
    cnn_image img;
    ck_assert_int_eq(cnn_image_alloc(&img, src->width, src->height, src->channels, NULL),
                     CNN_OK);
    memcpy(img.data, src->data,
           sizeof(float) * src->width * src->height * src->channels);
    return img;
}

/* Each patch and glyph has draws of its own: a patch's grey level and a
 * glyph's shape do not follow the flip or brightness draws, and two patches
 * of one sample are not always alike. */
START_TEST(patch_and_glyph_draws_are_their_own)
{
    cnn_augment_params p = {0};
    p.hflip = 1;
    p.erase = 1.0f;
    p.markers = 1.0f;
    cnn_rng rng;
    cnn_rng_seed(&rng, 7);
    int flipped = 0, white_when_flipped = 0, two = 0, differ = 0;
    int shape_when_flipped[4] = {0};
    for (int i = 0; i < 6000; i++) {
        cnn_augment_draw d;
        cnn_augment_sample(&p, &rng, &d);
        if (d.flip) {
            flipped++;
            white_when_flipped += d.patch_level[0] == 255.0f;
            shape_when_flipped[d.glyph_shape[0]]++;
        }
        if (d.patches == 2) {
            two++;
            differ += d.patch_level[0] != d.patch_level[1];
        }
    }
    double white = (double)white_when_flipped / flipped;
    ck_assert_msg(fabs(white - 1.0 / 3.0) < 0.04, "white patches among flipped: %g", white);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(fabs((double)shape_when_flipped[k] / flipped - 0.25) < 0.04,
                      "glyph shape %d among flipped: %d of %d", k,
                      shape_when_flipped[k], flipped);
    ck_assert_msg((double)differ / two > 0.5, "two patches differ in %d of %d", differ, two);
}
END_TEST

START_TEST(pipeline_steps_in_order)
{
    /* rescale, blur, noise, JPEG, as the steps called one by one */
    cnn_image src = random_image(40, 36, 1, 5), dst;
    cnn_augment_draw d = identity;
    d.rescale = 0.5f;
    d.rescale_down = CNN_RESIZE_LANCZOS;
    d.rescale_up = CNN_RESIZE_BICUBIC;
    d.blur_sigma = 0.8f;
    d.noise_sd = 3.0f;
    d.noise_seed = 77;
    d.jpeg_quality = 60;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    cnn_image want = copy_image(&src), jpeg;
    ck_assert_int_eq(cnn_image_rescale_roundtrip(&want, 0.5f, CNN_RESIZE_LANCZOS,
                                                 CNN_RESIZE_BICUBIC, NULL), CNN_OK);
    ck_assert_int_eq(cnn_image_gaussian_blur(&want, 0.8f, NULL), CNN_OK);
    cnn_image_add_noise(&want, 3.0f, 77);
    ck_assert_int_eq(cnn_image_jpeg_roundtrip(&want, 60, &jpeg, NULL), CNN_OK);
    ck_assert_mem_eq(dst.data, jpeg.data, sizeof(float) * 40 * 36);
    cnn_image_free(&jpeg);
    cnn_image_free(&want);
    cnn_image_free(&dst);

    /* patches before gamma: a 127.5 patch comes out 255 * 0.5^2 */
    d = identity;
    d.patches = 1;
    d.patch[0][0] = 0.0f, d.patch[0][1] = 0.0f, d.patch[0][2] = 0.5f, d.patch[0][3] = 0.5f;
    d.patch_level[0] = 127.5f;
    d.gamma = 2.0f;
    ck_assert_int_eq(cnn_augment_apply(&d, &src, &dst, NULL), CNN_OK);
    ck_assert_float_eq_tol(dst.data[0], 63.75f, 1e-3f);
    ck_assert_float_eq_tol(dst.data[19 * 40 + 20],
                           255.0f * powf(src.data[19 * 40 + 20] / 255.0f, 2.0f), 1e-3f);
    cnn_image_free(&dst);
    cnn_image_free(&src);
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
    tcase_add_test(tc, one_switch_leaves_the_other_draws);
    tcase_add_test(tc, patches_fill_expected_rectangles);
    tcase_add_test(tc, glyphs_stay_in_their_rectangle);
    tcase_add_test(tc, draws_stay_in_documented_ranges);
    tcase_add_test(tc, patch_and_glyph_draws_are_their_own);
    tcase_add_test(tc, pipeline_steps_in_order);
    tcase_add_test(tc, preview_grid);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
