/* test_conv.c - conv2d forward/backward against PyTorch goldens (made by
 * test/gen_golden_conv.py), backward against central finite differences,
 * larger shapes (chunked and batched paths) against a direct-loop reference
 * written here, and shape validation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/suite.h"

#define GOLDEN "test/golden/conv.bin"

/* The cases of gen_golden_conv.py. */
static const char *const CASES[] = {
    "k1x1_s1",           "k1x1_s1_n3",         "k1x1_s2_valid",
    "k1x1_s2_same",      "k3x3_same",          "k3x3_valid",
    "k5x5_same",         "k1x7_same",          "k7x1_same",
    "k1x3_same",         "k3x1_same",          "k2x2_same",
    "k3x3_s2_valid_odd", "k3x3_s2_valid_even", "k3x3_s2_same_odd",
    "k3x3_s2_same_even", "k5x5_s2_same_even",  "k3x3_s1x2_same",
    "k1x1_same_bigger_stride", "k5x5_same_tiny_image",
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static float *copy_floats(const float *src, size_t count)
{
    float *p = alloc_floats(count);
    memcpy(p, src, count * sizeof(float));
    return p;
}

/* One golden case, loaded, with its own copies of the inputs. */
typedef struct {
    golden_file *g;
    cnn_conv_shape s;
    int n;
    float *x, *w, *b; /* b NULL without bias */
    const float *r;   /* dL/dy */
    size_t x_count, w_count, y_count;
    float *y, *ws;
} conv_case;

static const golden_array *get(const conv_case *c, const char *name,
                               const char *what)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s", name, what);
    return golden_get(c->g, key);
}

static void load_case(conv_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->g = golden_load(GOLDEN);
    const float *sh = get(c, name, "shape")->data;
    int d[11];
    for (int i = 0; i < 11; i++)
        d[i] = (int)sh[i];
    cnn_error err = {0};
    ck_assert_msg(cnn_conv_shape_init(&c->s, d[1], d[2], d[3], d[4], d[5], d[6],
                                      d[7], d[8],
                                      d[9] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                      &err) == CNN_OK,
                  "%s: %s", name, err.message);
    c->n = d[0];
    const golden_array *y = get(c, name, "y");
    ck_assert_int_eq(y->dims[2], c->s.out_h);
    ck_assert_int_eq(y->dims[3], c->s.out_w);
    c->x_count = get(c, name, "x")->count;
    c->w_count = get(c, name, "w")->count;
    c->y_count = y->count;
    c->x = copy_floats(get(c, name, "x")->data, c->x_count);
    c->w = copy_floats(get(c, name, "w")->data, c->w_count);
    c->b = d[10] ? copy_floats(get(c, name, "b")->data, c->s.out_c) : NULL;
    c->r = get(c, name, "r")->data;
    c->y = alloc_floats(c->y_count);
    c->ws = alloc_floats(cnn_conv_workspace_floats(&c->s));
}

static void free_case(conv_case *c)
{
    free(c->x);
    free(c->w);
    free(c->b);
    free(c->y);
    free(c->ws);
    golden_free(c->g);
}

START_TEST(forward_matches_pytorch)
{
    conv_case c;
    load_case(&c, CASES[_i]);
    cnn_conv2d_forward(&c.s, c.n, c.x, c.w, c.b, c.y, c.ws);
    assert_close(CASES[_i], c.y, get(&c, CASES[_i], "y")->data, c.y_count,
                 1e-5, 1e-4);
    free_case(&c);
}
END_TEST

START_TEST(backward_matches_pytorch)
{
    conv_case c;
    load_case(&c, CASES[_i]);
    const char *name = CASES[_i];
    /* dx must be overwritten, dweight and dbias accumulated. */
    float *dx = alloc_floats(c.x_count), *dw = alloc_floats(c.w_count);
    float *db = alloc_floats(c.s.out_c);
    for (size_t i = 0; i < c.x_count; i++)
        dx[i] = 1e30f;
    for (size_t i = 0; i < c.w_count; i++)
        dw[i] = 0.5f;
    for (int i = 0; i < c.s.out_c; i++)
        db[i] = -0.25f;
    cnn_conv2d_backward(&c.s, c.n, c.x, c.w, c.r, dx, dw, c.b ? db : NULL,
                        c.ws);
    assert_close("dx", dx, get(&c, name, "dx")->data, c.x_count, 1e-5, 1e-4);
    const float *want_dw = get(&c, name, "dw")->data;
    for (size_t i = 0; i < c.w_count; i++)
        dw[i] -= 0.5f;
    assert_close("dweight", dw, want_dw, c.w_count, 1e-5, 1e-4);
    if (c.b) {
        for (int i = 0; i < c.s.out_c; i++)
            db[i] += 0.25f;
        assert_close("dbias", db, get(&c, name, "db")->data, c.s.out_c, 1e-5,
                     1e-4);
    }
    free(dx);
    free(dw);
    free(db);
    free_case(&c);
}
END_TEST

/* L = sum(y * r) for the case's current x, w, b. */
static double conv_loss(void *ctx)
{
    conv_case *c = ctx;
    cnn_conv2d_forward(&c->s, c->n, c->x, c->w, c->b, c->y, c->ws);
    return dot_double(c->y, c->r, c->y_count);
}

START_TEST(backward_matches_finite_differences)
{
    conv_case c;
    load_case(&c, CASES[_i]);
    float *dx = alloc_floats(c.x_count), *dw = alloc_floats(c.w_count);
    float *db = alloc_floats(c.s.out_c);
    memset(dw, 0, c.w_count * sizeof(float));
    memset(db, 0, c.s.out_c * sizeof(float));
    cnn_conv2d_backward(&c.s, c.n, c.x, c.w, c.r, dx, dw, db, c.ws);
    /* L is linear in each value, so a large step only fights rounding. */
    gradcheck("dx", conv_loss, &c, c.x, dx, c.x_count, 300, 0.05, 1e-3, 1e-3);
    gradcheck("dweight", conv_loss, &c, c.w, dw, c.w_count, 300, 0.05, 1e-3,
              1e-3);
    if (c.b)
        gradcheck("dbias", conv_loss, &c, c.b, db, c.s.out_c, 300, 0.05, 1e-3,
                  1e-3);
    free(dx);
    free(dw);
    free(db);
    free_case(&c);
}
END_TEST

/* ------------------------------------------------ direct-loop reference */

/* TensorFlow's 'same' padding before the data along one axis. */
static int tf_same_pad_begin(int in, int k, int stride)
{
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + k - in;
    return total > 0 ? total / 2 : 0;
}

/* The input index read by output o at tap t, or -1 in the padding. */
static int source(int o, int t, int stride, int pad, int in)
{
    int i = o * stride - pad + t;
    return i >= 0 && i < in ? i : -1;
}

/* Forward and backward by the definition, in double. */
static void reference_conv(const cnn_conv_shape *s, int n, const float *x,
                           const float *w, const float *b, const float *dy,
                           float *y, float *dx, float *dw, float *db)
{
    const int C = s->in_c, H = s->in_h, W = s->in_w, O = s->out_c;
    const int OH = s->out_h, OW = s->out_w, KH = s->kh, KW = s->kw;
    const int pt = s->pad_top, pl = s->pad_left;
    size_t x_count = (size_t)n * C * H * W, w_count = (size_t)O * C * KH * KW;
    double *dxd = calloc(x_count, sizeof(double));
    double *dwd = calloc(w_count, sizeof(double));
    ck_assert(dxd && dwd);
    for (int o = 0; o < O; o++)
        db[o] = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < O; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    size_t yi = (((size_t)i * O + o) * OH + oh) * OW + ow;
                    double acc = b ? b[o] : 0.0, g = dy[yi];
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < KH; kh++) {
                            int ih = source(oh, kh, s->stride_h, pt, H);
                            if (ih < 0)
                                continue;
                            for (int kw = 0; kw < KW; kw++) {
                                int iw = source(ow, kw, s->stride_w, pl, W);
                                if (iw < 0)
                                    continue;
                                size_t xi = (((size_t)i * C + c) * H + ih) * W + iw;
                                size_t wi = (((size_t)o * C + c) * KH + kh) * KW + kw;
                                acc += (double)w[wi] * x[xi];
                                dxd[xi] += g * w[wi];
                                dwd[wi] += g * x[xi];
                            }
                        }
                    y[yi] = (float)acc;
                    db[o] += (float)g;
                }
    for (size_t k = 0; k < x_count; k++)
        dx[k] = (float)dxd[k];
    for (size_t k = 0; k < w_count; k++)
        dw[k] = (float)dwd[k];
    free(dxd);
    free(dwd);
}

/* n, in_c, in_h, in_w, out_c, kh, kw, stride_h, stride_w, same */
static const int REFERENCE_SHAPES[][10] = {
    /* chunk sizes follow from conv.c's CHUNK_FLOATS (2^22) */
    {1, 256, 4, 1900, 2, 3, 3, 1, 1, 1}, /* one output row per chunk */
    {1, 128, 10, 1200, 2, 3, 3, 1, 1, 1}, /* chunks of 3 rows + 1 */
    {2, 256, 9, 1400, 2, 3, 3, 2, 2, 0},  /* strided chunks of 2 rows */
    {5, 16, 8, 8, 12, 3, 1, 1, 1, 1},   /* small images, N > 1 */
    {11, 4, 8, 8, 6, 3, 3, 1, 1, 1},    /* groups of 8 and 3 images */
    {4, 8, 17, 17, 6, 1, 7, 1, 1, 1},
    {3, 16, 7, 7, 8, 1, 1, 1, 1, 1},   /* grouped 1x1 */
    {37, 4, 8, 8, 6, 3, 3, 1, 1, 1},   /* 5 groups */
    {40, 8, 7, 7, 6, 1, 1, 1, 1, 1},   /* grouped 1x1, 11+11+11+7 images */
    {6, 8, 9, 9, 5, 1, 1, 1, 1, 1},    /* small 1x1 images, one per thread */
    {2, 8, 20, 20, 4, 1, 1, 1, 1, 1},  /* direct 1x1 */
    {5, 12, 18, 18, 6, 1, 1, 1, 1, 1}, /* direct 1x1, an image per thread */
    {3, 5, 35, 35, 4, 3, 3, 2, 2, 0},
};
#define NREFERENCE ((int)(sizeof REFERENCE_SHAPES / sizeof REFERENCE_SHAPES[0]))

START_TEST(matches_direct_reference)
{
    const int *d = REFERENCE_SHAPES[_i];
    cnn_conv_shape s;
    cnn_error err = {0};
    ck_assert_msg(cnn_conv_shape_init(&s, d[1], d[2], d[3], d[4], d[5], d[6],
                                      d[7], d[8],
                                      d[9] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                      &err) == CNN_OK,
                  "%s", err.message);
    if (d[9]) {
        ck_assert_int_eq(s.pad_top, tf_same_pad_begin(d[2], d[5], d[7]));
        ck_assert_int_eq(s.pad_left, tf_same_pad_begin(d[3], d[6], d[8]));
    }
    const int n = d[0];
    size_t xc = (size_t)n * s.in_c * s.in_h * s.in_w;
    size_t wc = (size_t)s.out_c * s.in_c * s.kh * s.kw;
    size_t yc = (size_t)n * s.out_c * s.out_h * s.out_w;
    float *x = alloc_floats(xc), *w = alloc_floats(wc), *b = alloc_floats(s.out_c);
    float *dy = alloc_floats(yc), *ws = alloc_floats(cnn_conv_workspace_floats(&s));
    fill_uniform(x, xc, -1, 1, 1);
    fill_uniform(w, wc, -1, 1, 2);
    fill_uniform(b, s.out_c, -1, 1, 3);
    fill_uniform(dy, yc, -1, 1, 4);
    float *y = alloc_floats(yc), *dx = alloc_floats(xc), *dw = alloc_floats(wc);
    float *db = alloc_floats(s.out_c);
    float *ry = alloc_floats(yc), *rdx = alloc_floats(xc), *rdw = alloc_floats(wc);
    float *rdb = alloc_floats(s.out_c);
    reference_conv(&s, n, x, w, b, dy, ry, rdx, rdw, rdb);

    cnn_conv2d_forward(&s, n, x, w, b, y, ws);
    assert_close("y", y, ry, yc, 1e-4, 1e-4);
    memset(dw, 0, wc * sizeof(float));
    memset(db, 0, s.out_c * sizeof(float));
    cnn_conv2d_backward(&s, n, x, w, dy, dx, dw, db, ws);
    assert_close("dx", dx, rdx, xc, 1e-4, 1e-4);
    assert_close("dweight", dw, rdw, wc, 1e-3, 1e-4);
    assert_close("dbias", db, rdb, s.out_c, 1e-3, 1e-4);
    /* Each gradient alone (the others NULL) gives the same values. */
    cnn_conv2d_backward(&s, n, x, w, dy, dx, NULL, NULL, ws);
    assert_close("dx alone", dx, rdx, xc, 1e-4, 1e-4);
    memset(dw, 0, wc * sizeof(float));
    cnn_conv2d_backward(&s, n, x, NULL, dy, NULL, dw, NULL, ws);
    assert_close("dweight alone", dw, rdw, wc, 1e-3, 1e-4);
    /* and it adds to what dweight holds */
    cnn_conv2d_backward(&s, n, x, NULL, dy, NULL, dw, NULL, ws);
    for (size_t k = 0; k < wc; k++)
        rdw[k] *= 2.0f;
    assert_close("dweight added twice", dw, rdw, wc, 2e-3, 1e-4);

    free(x), free(w), free(b), free(dy), free(ws), free(y), free(dx);
    free(dw), free(db), free(ry), free(rdx), free(rdw), free(rdb);
}
END_TEST

/* ------------------------------------------------ shapes */

START_TEST(shape_init_rejects_impossible_shapes)
{
    cnn_conv_shape s;
    cnn_error err = {0};
    /* a 5x5 'valid' kernel does not fit a 4x8 image */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 4, 8, 2, 5, 5, 1, 1,
                                         CNN_PAD_VALID, &err),
                     CNN_ERR_SHAPE);
    ck_assert_int_eq(err.code, CNN_ERR_SHAPE);
    ck_assert(strlen(err.message) > 0);
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 8, 4, 2, 1, 7, 1, 1,
                                         CNN_PAD_VALID, NULL),
                     CNN_ERR_SHAPE);
    /* with 'same' the kernel may be larger than the image */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 4, 4, 2, 5, 5, 1, 1,
                                         CNN_PAD_SAME, &err),
                     CNN_OK);
    ck_assert_int_eq(s.out_h, 4);
    ck_assert_int_eq(s.pad_top, 2);
    /* zero channels, zero stride, non-positive sizes */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 0, 8, 8, 2, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL),
                     CNN_ERR_SHAPE);
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 8, 8, 0, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL),
                     CNN_ERR_SHAPE);
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 8, 8, 2, 3, 3, 0, 1,
                                         CNN_PAD_SAME, NULL),
                     CNN_ERR_SHAPE);
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 0, 8, 2, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL),
                     CNN_ERR_SHAPE);
    /* sizes that overflow sgemm's int dimensions */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 1 << 20, 8, 8, 2, 32, 32, 1, 1,
                                         CNN_PAD_SAME, &err),
                     CNN_ERR_TOO_LARGE);
}
END_TEST

/* A 1x1 stride-1 convolution on a large image reads its input in place:
 * its workspace holds only the second thread's weight gradient. */
START_TEST(pointwise_needs_no_columns)
{
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, 8, 35, 35, 4, 1, 1, 1, 1,
                                         CNN_PAD_SAME, NULL),
                     CNN_OK);
    ck_assert_uint_eq(cnn_conv_workspace_floats(&s), 4 * 8);
    ck_assert_int_eq(cnn_conv_shape_init(&s, 8, 35, 35, 4, 1, 1, 2, 2,
                                         CNN_PAD_SAME, NULL),
                     CNN_OK);
    ck_assert_uint_gt(cnn_conv_workspace_floats(&s), 0);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *suite = suite_create("conv");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_matches_finite_differences, 0, NCASES);
    suite_add_tcase(suite, tc);
    tc = tcase_create("reference");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, matches_direct_reference, 0, NREFERENCE);
    suite_add_tcase(suite, tc);
    tc = tcase_create("shapes");
    tcase_add_test(tc, shape_init_rejects_impossible_shapes);
    tcase_add_test(tc, pointwise_needs_no_columns);
    suite_add_tcase(suite, tc);
    return run_suite(suite);
}
