/* test_input_gate.c - the input gate: each image check on images built so
 * that the answer follows from their construction (and a real X-ray that
 * passes), the layout thumbnail, the pooled features read from the pass
 * that predicts, and the statistics in a model file: a round trip, a model
 * without them, and damaged files (truncated, wrong shape, a missing
 * tensor, a bad threshold, a bad factor, another thumbnail side), each a
 * clear load error. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input_gate.h"
#include "model.h"
#include "network.h"
#include "util/gradcheck.h"
#include "util/suite.h"
#include "util/tmpdir.h"

/* ---------------------------------------------------------------- images */

/* A w x h image with channels planes, pixel (x, y) of plane c = f(x, y, c). */
static cnn_image make(int w, int h, int channels,
                      float (*f)(int x, int y, int c, int w, int h))
{
    cnn_image img;
    cnn_error err;
    ck_assert(cnn_image_alloc(&img, w, h, channels, &err) == CNN_OK);
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img.data[((size_t)c * h + y) * w + x] = f(x, y, c, w, h);
    return img;
}

/* grey levels 0..255 across the width: every level equally often */
static float ramp(int x, int y, int c, int w, int h)
{
    return (float)(x * 256 / w);
}

static float flat(int x, int y, int c, int w, int h)
{
    return 128.0f;
}

/* black text on white paper: left half 0, right half 255 */
static float halves(int x, int y, int c, int w, int h)
{
    return x < w / 2 ? 0.0f : 255.0f;
}

/* the ramp in red, its inverse in blue, no green: chroma max(v, 255 - v) */
static float colour(int x, int y, int c, int w, int h)
{
    float v = ramp(x, y, c, w, h);
    return c == 0 ? v : c == 1 ? 0.0f : 255.0f - v;
}

static cnn_gate_check check_of(cnn_image img, cnn_image_measures *m)
{
    cnn_image_measures local;
    if (!m)
        m = &local;
    cnn_image_measure(&img, m);
    cnn_image_free(&img);
    return cnn_image_checks(m);
}

START_TEST(names_and_reasons)
{
    for (int c = CNN_GATE_ACCEPTED; c < CNN_GATE_CHECK_COUNT; c++) {
        ck_assert(strlen(cnn_gate_check_name((cnn_gate_check)c)) > 0);
        ck_assert(strlen(cnn_gate_reason((cnn_gate_check)c)) > 0);
        for (int d = 0; d < c; d++)
            ck_assert_str_ne(cnn_gate_check_name((cnn_gate_check)c),
                             cnn_gate_check_name((cnn_gate_check)d));
    }
    ck_assert_str_eq(cnn_gate_check_name(CNN_GATE_COLOUR), "colour");
    ck_assert_str_eq(cnn_gate_reason(CNN_GATE_COLOUR), "colour image");
    ck_assert_str_eq(cnn_gate_reason(CNN_GATE_FLAT), "flat image: almost no contrast");
}
END_TEST

START_TEST(measures_follow_from_the_construction)
{
    cnn_image_measures m;
    /* 256 wide: each level in one column; the 5th and 95th percentiles are
     * levels 12 and 243 (ceil(0.05 * 256) = 13th column, 244th column) */
    ck_assert_int_eq(check_of(make(256, 200, 1, ramp), &m), CNN_GATE_ACCEPTED);
    ck_assert_int_eq(m.width, 256);
    ck_assert(m.aspect == 1.28);
    ck_assert(m.chroma == 0.0);
    ck_assert_msg(m.spread == 243 - 12, "spread %g", m.spread);
    /* two windows of 2 * 4 + 1 levels */
    ck_assert_msg(fabs(m.two_levels - 18.0 / 256) < 1e-12, "%g", m.two_levels);

    ck_assert_int_eq(check_of(make(200, 200, 1, flat), &m), CNN_GATE_FLAT);
    ck_assert(m.spread == 0 && m.two_levels == 1.0);
    ck_assert_int_eq(check_of(make(200, 200, 1, halves), &m), CNN_GATE_TWO_LEVELS);
    ck_assert(m.spread == 255 && m.two_levels == 1.0);

    /* chroma: the mean of max(v, 255 - v) over v = 0..255, (255 + 128) / 2 */
    ck_assert_int_eq(check_of(make(256, 200, 3, colour), &m), CNN_GATE_COLOUR);
    ck_assert_msg(fabs(m.chroma - 191.5) < 1e-9, "%g", m.chroma);
    /* grey stored as RGB: no chroma, the same measures as grey */
    cnn_image_measures grey;
    ck_assert_int_eq(check_of(make(256, 200, 3, ramp), &m), CNN_GATE_ACCEPTED);
    check_of(make(256, 200, 1, ramp), &grey);
    ck_assert(m.chroma == 0 && m.spread == grey.spread && m.two_levels == grey.two_levels);
}
END_TEST

START_TEST(size_and_shape_limits)
{
    int s = CNN_GATE_MIN_SIDE;
    ck_assert_int_eq(check_of(make(s, s, 1, ramp), NULL), CNN_GATE_ACCEPTED);
    ck_assert_int_eq(check_of(make(s - 1, s, 1, ramp), NULL), CNN_GATE_TOO_SMALL);
    ck_assert_int_eq(check_of(make(s, s - 1, 1, ramp), NULL), CNN_GATE_TOO_SMALL);
    /* exactly the largest aspect ratio passes, beyond it fails either way */
    int a = (int)CNN_GATE_MAX_ASPECT;
    ck_assert_int_eq(check_of(make(a * s, s, 1, ramp), NULL), CNN_GATE_ACCEPTED);
    ck_assert_int_eq(check_of(make(a * s + 1, s, 1, ramp), NULL), CNN_GATE_ASPECT);
    ck_assert_int_eq(check_of(make(s, a * s + 1, 1, ramp), NULL), CNN_GATE_ASPECT);
    /* the first failing check is reported: small before flat */
    ck_assert_int_eq(check_of(make(10, 10, 1, flat), NULL), CNN_GATE_TOO_SMALL);
}
END_TEST

START_TEST(real_xrays_pass)
{
    static const char *const files[] = {
        "test/fixtures/images/xray_normal_IM-0115-0001.jpeg",
        "test/fixtures/images/xray_pneumonia_person1000_bacteria_2931.jpeg",
        "test/fixtures/images/resize_xray_299.png",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        cnn_image img;
        cnn_error err;
        ck_assert_msg(cnn_image_load(files[i], 0, &img, &err) == CNN_OK, "%s", err.message);
        cnn_image_measures m;
        ck_assert_msg(check_of(img, &m) == CNN_GATE_ACCEPTED, "%s: spread %g, two "
                      "levels %g, chroma %g", files[i], m.spread, m.two_levels, m.chroma);
    }
}
END_TEST

/* ---------------------------------------------------------------- thumbnail */

/* Polarity is the correlation with the mean thumbnail: 1 for the mean's
 * own layout, scale-free, and a negative flips its sign exactly. */
START_TEST(polarity_is_correlation_with_the_mean)
{
    float mean[CNN_GATE_THUMB_DIM], x[CNN_GATE_THUMB_DIM], neg[CNN_GATE_THUMB_DIM];
    for (int i = 0; i < CNN_GATE_THUMB_DIM; i++) {
        mean[i] = (float)sin(0.37 * i);
        x[i] = 3.0f * mean[i] + 0.5f * (float)cos(1.3 * i);
        neg[i] = -x[i];
    }
    cnn_input_gate g;
    memset(&g, 0, sizeof g);
    g.layout.mean = mean;
    ck_assert(fabs(cnn_gate_polarity(&g, mean) - 1.0) < 1e-9);
    double p = cnn_gate_polarity(&g, x);
    ck_assert(p > 0.8 && p < 1.0);
    ck_assert(fabs(cnn_gate_polarity(&g, neg) + p) < 1e-9);
    ck_assert(p > CNN_GATE_MIN_POLARITY && -p <= CNN_GATE_MIN_POLARITY);
    /* a flat thumbnail (all zeros) has no polarity: refused */
    float flat[CNN_GATE_THUMB_DIM] = {0};
    ck_assert(cnn_gate_polarity(&g, flat) <= CNN_GATE_MIN_POLARITY);
}
END_TEST

START_TEST(thumbnail_is_standardized_layout)
{
    int s = 32;
    size_t plane = (size_t)s * s;
    float *in = malloc(3 * plane * sizeof *in), thumb[CNN_GATE_THUMB_DIM],
          other[CNN_GATE_THUMB_DIM];
    /* left half bright: left cells +1, right cells -1 */
    for (size_t i = 0; i < 3 * plane; i++)
        in[i] = (i % s) < (size_t)s / 2 ? 1.0f : 0.0f;
    cnn_gate_thumbnail(in, s, thumb);
    for (int y = 0; y < CNN_GATE_THUMB_SIDE; y++)
        for (int x = 0; x < CNN_GATE_THUMB_SIDE; x++)
            ck_assert_msg(fabsf(thumb[y * CNN_GATE_THUMB_SIDE + x] -
                                (x < CNN_GATE_THUMB_SIDE / 2 ? 1.0f : -1.0f)) < 1e-6,
                          "cell %d,%d = %g", x, y, thumb[y * CNN_GATE_THUMB_SIDE + x]);
    /* the model's pixel scaling does not matter: x * 2 - 1 */
    for (size_t i = 0; i < 3 * plane; i++)
        in[i] = in[i] * 2.0f - 1.0f;
    cnn_gate_thumbnail(in, s, other);
    for (int i = 0; i < CNN_GATE_THUMB_DIM; i++)
        ck_assert(fabsf(thumb[i] - other[i]) < 1e-6);
    /* a flat input has no layout */
    for (size_t i = 0; i < 3 * plane; i++)
        in[i] = 0.25f;
    cnn_gate_thumbnail(in, s, thumb);
    for (int i = 0; i < CNN_GATE_THUMB_DIM; i++)
        ck_assert(thumb[i] == 0.0f);
    free(in);

    /* a side that cells do not divide: still mean 0, sd 1 */
    s = 75;
    plane = (size_t)s * s;
    in = malloc(3 * plane * sizeof *in);
    fill_uniform(in, 3 * plane, 0.0f, 1.0f, 7);
    cnn_gate_thumbnail(in, s, thumb);
    double sum = 0, sq = 0;
    for (int i = 0; i < CNN_GATE_THUMB_DIM; i++) {
        sum += thumb[i];
        sq += (double)thumb[i] * thumb[i];
    }
    ck_assert(fabs(sum / CNN_GATE_THUMB_DIM) < 1e-6);
    ck_assert(fabs(sq / CNN_GATE_THUMB_DIM - 1.0) < 1e-5);
    free(in);
}
END_TEST

/* ---------------------------------------------------------------- model files */

#define SIZE 75
#define ATTACH "mixed1" /* 288 channels: not THUMB_DIM, so shapes differ */
#define FEATURES 288

static cnn_model *small_model(void)
{
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, CNN_ARCH_INCEPTION_V3);
    cfg.input_size = SIZE;
    snprintf(cfg.head_attach, sizeof cfg.head_attach, ATTACH);
    cfg.head_hidden = 8;
    cnn_model *m;
    cnn_error err;
    ck_assert_msg(cnn_model_create(&m, &cfg, 3, &err) == CNN_OK, "%s", err.message);
    return m;
}

/* A gate fitted to random samples, with thresholds 12.5 and 25.5. */
static cnn_input_gate *random_gate(int features)
{
    cnn_input_gate *g = calloc(1, sizeof *g);
    int n = 40;
    int most = features > CNN_GATE_THUMB_DIM ? features : CNN_GATE_THUMB_DIM;
    float *x = malloc((size_t)n * most * sizeof *x);
    cnn_error err;
    fill_uniform(x, (size_t)n * CNN_GATE_THUMB_DIM, -1, 1, 11);
    ck_assert(cnn_mahalanobis_fit(x, n, CNN_GATE_THUMB_DIM, &g->layout, NULL, &err) == CNN_OK);
    fill_uniform(x, (size_t)n * features, 0, 2, 12);
    ck_assert(cnn_mahalanobis_fit(x, n, features, &g->features, NULL, &err) == CNN_OK);
    free(x);
    g->layout_threshold = 12.5f;
    g->features_threshold = 25.5f;
    snprintf(g->about, sizeof g->about, "random samples");
    return g;
}

START_TEST(features_are_the_pooled_attach_layer)
{
    cnn_model *m = small_model();
    ck_assert_int_eq(cnn_model_feature_count(m), FEATURES);
    cnn_error err;
    ck_assert(cnn_net_keep(cnn_model_net(m), ATTACH, CNN_KEEP_OUTPUT, &err) == CNN_OK);
    size_t per = (size_t)3 * SIZE * SIZE;
    float *x = malloc(2 * per * sizeof *x), prob[2];
    fill_uniform(x, 2 * per, 0, 1, 5);
    ck_assert(cnn_model_predict(m, x, 2, prob, &err) == CNN_OK);
    int c, h, w;
    const float *a = cnn_net_layer_output(cnn_model_net(m), ATTACH, &c, &h, &w);
    const float *f = cnn_model_features(m);
    ck_assert_int_eq(c, FEATURES);
    float first[FEATURES];
    for (int i = 0; i < 2; i++)
        for (int ch = 0; ch < c; ch++) {
            double mean = 0;
            for (int k = 0; k < h * w; k++)
                mean += a[((size_t)i * c + ch) * h * w + k];
            mean /= h * w;
            ck_assert_msg(fabs(f[i * c + ch] - mean) <= 1e-5 * (1 + fabs(mean)),
                          "image %d channel %d: %g, mean %g", i, ch, f[i * c + ch], mean);
        }
    memcpy(first, f, sizeof first);
    /* Grad-CAM's pass leaves the same features of its image */
    float p, *heat;
    int hh, ww;
    ck_assert(cnn_model_gradcam(m, x, &p, &heat, &hh, &ww, &err) == CNN_OK);
    free(heat);
    f = cnn_model_features(m);
    for (int ch = 0; ch < c; ch++)
        ck_assert_msg(fabsf(f[ch] - first[ch]) <= 1e-4f * (1 + fabsf(first[ch])),
                      "channel %d: %g after Grad-CAM, %g before", ch, f[ch], first[ch]);
    free(x);
    cnn_model_free(m);
}
END_TEST

START_TEST(gate_round_trip)
{
    make_tmpdir("test_input_gate");
    cnn_error err;
    cnn_model *m = small_model();
    ck_assert_ptr_null(cnn_model_gate(m));
    ck_assert(cnn_model_save(m, tmp_path("plain.safetensors"), NULL, &err) == CNN_OK);
    cnn_model *l;
    ck_assert(cnn_model_load(&l, tmp_path("plain.safetensors"), &err) == CNN_OK);
    ck_assert_ptr_null(cnn_model_gate(l)); /* a model without: image checks only */
    cnn_model_free(l);

    cnn_input_gate *wrong = random_gate(FEATURES + 1);
    ck_assert_int_eq(cnn_model_set_gate(m, wrong, &err), CNN_ERR_SHAPE);
    cnn_gate_free(wrong);
    cnn_input_gate *g = random_gate(FEATURES);
    ck_assert(cnn_model_set_gate(m, g, &err) == CNN_OK);
    ck_assert(cnn_model_save(m, tmp_path("gate.safetensors"), NULL, &err) == CNN_OK);
    ck_assert_msg(cnn_model_load(&l, tmp_path("gate.safetensors"), &err) == CNN_OK,
                  "%s", err.message);
    const cnn_input_gate *r = cnn_model_gate(l);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->layout.dim, CNN_GATE_THUMB_DIM);
    ck_assert_int_eq(r->features.dim, FEATURES);
    ck_assert(memcmp(r->layout.mean, g->layout.mean, CNN_GATE_THUMB_DIM * sizeof(float)) == 0);
    ck_assert(memcmp(r->layout.factor, g->layout.factor,
                     (size_t)CNN_GATE_THUMB_DIM * CNN_GATE_THUMB_DIM * sizeof(float)) == 0);
    ck_assert(memcmp(r->features.mean, g->features.mean, FEATURES * sizeof(float)) == 0);
    ck_assert(memcmp(r->features.factor, g->features.factor,
                     (size_t)FEATURES * FEATURES * sizeof(float)) == 0);
    ck_assert(r->layout_threshold == 12.5f && r->features_threshold == 25.5f);
    ck_assert_str_eq(r->about, "random samples");
    /* the statistics outlive the file's mapping */
    ck_assert(cnn_model_make_trainable(l, &err) == CNN_OK);
    ck_assert(cnn_model_gate(l)->layout.mean[0] == g->layout.mean[0]);
    cnn_model_free(l);
    cnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* Writes the file `from` with the first occurrence of `what` in its header
 * replaced by `with` (same length) as `to`. */
static void patch(const char *from, const char *to, const char *what,
                  const char *with)
{
    FILE *f = fopen(from, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n);
    ck_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    uint64_t header;
    memcpy(&header, b, 8);
    char *at = memmem(b + 8, header, what, strlen(what));
    ck_assert_msg(at != NULL, "no %s in the header", what);
    ck_assert_uint_eq(strlen(what), strlen(with));
    memcpy(at, with, strlen(with));
    f = fopen(to, "wb");
    ck_assert(fwrite(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    free(b);
}

static void assert_load_fails(const char *file, cnn_status want, const char *says)
{
    cnn_model *l = NULL;
    cnn_error err;
    cnn_status st = cnn_model_load(&l, tmp_path(file), &err);
    ck_assert_msg(st == want, "%s: status %d (%s), want %d", file, st,
                  st ? err.message : "loaded", want);
    ck_assert_ptr_null(l);
    ck_assert_msg(strstr(err.message, says) != NULL, "%s: '%s' does not say '%s'",
                  file, err.message, says);
    ck_assert_msg(strstr(err.message, tmp_path(file)) != NULL,
                  "%s: '%s' does not name the file", file, err.message);
}

START_TEST(damaged_gates_are_load_errors)
{
    make_tmpdir("test_input_gate");
    cnn_error err;
    cnn_model *m = small_model();
    cnn_input_gate *g = random_gate(FEATURES);
    ck_assert(cnn_model_set_gate(m, g, &err) == CNN_OK);
    char good[1024]; /* tmp_path's results are reused */
    snprintf(good, sizeof good, "%s", tmp_path("good.safetensors"));
    ck_assert(cnn_model_save(m, good, NULL, &err) == CNN_OK);

    /* cut in the middle of the data */
    FILE *f = fopen(good, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n);
    ck_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    f = fopen(tmp_path("cut.safetensors"), "wb");
    ck_assert(fwrite(b, 1, (size_t)n / 2, f) == (size_t)n / 2);
    fclose(f);
    free(b);
    assert_load_fails("cut.safetensors", CNN_ERR_FORMAT, "cut.safetensors");

    /* the same bytes in another shape */
    patch(good, tmp_path("shape.safetensors"), "[288,288]", "[144,576]");
    assert_load_fails("shape.safetensors", CNN_ERR_SHAPE, "input_gate.features.cholesky");
    /* a tensor renamed: the mean is missing */
    patch(good, tmp_path("missing.safetensors"), "input_gate.features.mean",
          "input_gate.features.meen");
    assert_load_fails("missing.safetensors", CNN_ERR_FORMAT, "without input_gate.features.mean");
    patch(good, tmp_path("threshold.safetensors"), "\"12.5\"", "\"-2.5\"");
    assert_load_fails("threshold.safetensors", CNN_ERR_FORMAT, "input_gate.layout.threshold");
    patch(good, tmp_path("side.safetensors"), "thumbnail_side\":\"16\"",
          "thumbnail_side\":\"17\"");
    assert_load_fails("side.safetensors", CNN_ERR_FORMAT, "thumbnails of side 17");

    /* not a Cholesky factor: a negative diagonal */
    cnn_input_gate *bad = random_gate(FEATURES);
    bad->layout.factor[0] = -1.0f;
    ck_assert(cnn_model_set_gate(m, bad, &err) == CNN_OK);
    ck_assert(cnn_model_save(m, tmp_path("factor.safetensors"), NULL, &err) == CNN_OK);
    assert_load_fails("factor.safetensors", CNN_ERR_FORMAT, "not a Cholesky factor");
    cnn_model_free(m);
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("input_gate");
    TCase *tc = tcase_create("image checks");
    tcase_add_test(tc, names_and_reasons);
    tcase_add_test(tc, measures_follow_from_the_construction);
    tcase_add_test(tc, size_and_shape_limits);
    tcase_add_test(tc, real_xrays_pass);
    tcase_add_test(tc, thumbnail_is_standardized_layout);
    tcase_add_test(tc, polarity_is_correlation_with_the_mean);
    suite_add_tcase(s, tc);
    tc = tcase_create("model files");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, features_are_the_pooled_attach_layer);
    tcase_add_test(tc, gate_round_trip);
    tcase_add_test(tc, damaged_gates_are_load_errors);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
