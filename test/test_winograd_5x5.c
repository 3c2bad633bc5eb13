/* test_winograd_5x5.c - Winograd F(4x4, 5x5) (lib/winograd_5x5.c), forward
 * and backward, against the im2col path, which test_conv.c checks against
 * a direct reference and PyTorch: InceptionV3's 5x5 layer shapes, odd map
 * sizes, 'same' and 'valid' padding, maps smaller than a tile, the bias,
 * batch norm and ReLU of the output stage, thread-private chunks; the rule;
 * a trained network's gradients against finite differences; and an
 * InceptionV3 inference plan with it against one on im2col. Relative error
 * max|diff| / max|ref| <= 1e-4 throughout. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "network_internal.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/net_gradcheck.h"
#include "util/suite.h"
#include "winograd.h"
#include "winograd_5x5.h"
#include "winograd_kinds.h"
#include "winograd_large.h"

/* n, in_c, in_h, in_w, out_c, same */
static const int SHAPES[][6] = {
    {2, 48, 35, 35, 64, 1}, /* InceptionV3@299's 5x5 layers */
    {2, 48, 25, 25, 64, 1}, /* ... at 224 */
    {3, 16, 13, 11, 20, 1}, /* odd sizes: tiles cut at the edge */
    {3, 16, 13, 11, 20, 0}, /* 'valid': 9x7 outputs */
    {2, 17, 3, 3, 18, 1},   /* map smaller than a tile */
    {1, 16, 1, 1, 16, 1},   /* one pixel: only the centre tap */
    {2, 16, 5, 5, 16, 0},   /* 'valid' on a 5x5 image: one output */
};
#define NSHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

/* y through F(4x4, 5x5) and through im2col, + bias, then the output stage
 * (batch norm and ReLU when bn) applied to the im2col result here: the
 * relative error. */
static double against_im2col(const cnn_conv_shape *s, int n, int bn,
                             unsigned seed)
{
    const int K = s->out_c;
    const size_t xc = (size_t)n * s->in_c * s->in_h * s->in_w;
    const size_t hw = (size_t)s->out_h * s->out_w, yc = (size_t)n * K * hw;
    const size_t wc = (size_t)K * s->in_c * 25;
    size_t ws = cnn_conv_workspace_floats(s) * n;
    if (cnn_wino_5x5_workspace_floats(s, n) > ws)
        ws = cnn_wino_5x5_workspace_floats(s, n);
    float *x = alloc_floats(xc), *w = alloc_floats(wc);
    float *b = alloc_floats(K), *y = alloc_floats(yc);
    float *ref = alloc_floats(yc), *work = alloc_floats(ws);
    float *U = alloc_floats(cnn_wino_5x5_filter_floats(s));
    float *mean = alloc_floats(K), *scale = alloc_floats(K);
    float *beta = alloc_floats(K);
    /* post-ReLU-like inputs, He-scaled weights */
    fill_uniform(x, xc, 0.0f, 1.0f, seed);
    const float a = sqrtf(6.0f / (25.0f * s->in_c));
    fill_uniform(w, wc, -a, a, seed + 1);
    fill_uniform(b, K, -0.1f, 0.1f, seed + 2);
    fill_uniform(mean, K, -0.3f, 0.3f, seed + 3);
    fill_uniform(scale, K, 0.5f, 1.5f, seed + 4);
    fill_uniform(beta, K, -0.5f, 0.5f, seed + 5);
    cnn_conv2d_forward(s, n, x, w, b, ref, work);
    if (bn)
        for (size_t i = 0; i < yc; i++) {
            const int k = (int)(i / hw % K);
            const float v = (ref[i] - mean[k]) * scale[k] + beta[k];
            ref[i] = v > 0 ? v : 0.0f;
        }
    cnn_wino_5x5_filter(s, w, U);
    for (size_t i = 0; i < yc; i++)
        y[i] = 1e30f; /* overwritten */
    cnn_wino_5x5_forward_bn(s, n, x, U, b, bn ? mean : NULL,
                            bn ? scale : NULL, bn ? beta : NULL, bn, y, work);
    const double e = relative_error(y, ref, yc);
    free(x), free(w), free(b), free(y), free(ref), free(work), free(U);
    free(mean), free(scale), free(beta);
    return e;
}

/* dx and dweight through F(4x4, 5x5)'s backward and through im2col's:
 * the larger relative error. */
static double backward_against_im2col(const cnn_conv_shape *s, int n,
                                      unsigned seed)
{
    const size_t xc = (size_t)n * s->in_c * s->in_h * s->in_w;
    const size_t yc = (size_t)n * s->out_c * s->out_h * s->out_w;
    const size_t wc = (size_t)s->out_c * s->in_c * 25;
    size_t ws = cnn_conv_workspace_floats(s) * n;
    if (cnn_wino_5x5_backward_workspace_floats(s, n) > ws)
        ws = cnn_wino_5x5_backward_workspace_floats(s, n);
    float *x = alloc_floats(xc), *w = alloc_floats(wc), *dy = alloc_floats(yc);
    float *dx = alloc_floats(xc), *ref_dx = alloc_floats(xc);
    float *dw = alloc_floats(wc), *ref_dw = alloc_floats(wc);
    float *work = alloc_floats(ws);
    float *U = alloc_floats(cnn_wino_5x5_filter_floats(s));
    fill_uniform(x, xc, 0.0f, 1.0f, seed);
    const float a = sqrtf(6.0f / (25.0f * s->in_c));
    fill_uniform(w, wc, -a, a, seed + 1);
    fill_uniform(dy, yc, -1.0f, 1.0f, seed + 2);
    /* the weight gradients are added to what is there */
    fill_uniform(dw, wc, -1.0f, 1.0f, seed + 3);
    memcpy(ref_dw, dw, wc * sizeof(float));
    cnn_conv2d_backward(s, n, x, w, dy, ref_dx, ref_dw, NULL, work);
    cnn_wino_5x5_filter(s, w, U);
    for (size_t i = 0; i < xc; i++)
        dx[i] = 1e30f; /* overwritten */
    cnn_wino_5x5_backward(s, n, x, dy, U, dx, dw, work);
    const double ex = relative_error(dx, ref_dx, xc);
    const double ew = relative_error(dw, ref_dw, wc);
    free(x), free(w), free(dy), free(dx), free(ref_dx), free(dw), free(ref_dw);
    free(work), free(U);
    return ex > ew ? ex : ew;
}

START_TEST(shapes_match_im2col)
{
    const int *d = SHAPES[_i];
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, d[1], d[2], d[3], d[4], 5, 5, 1,
                                         1, d[5] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                         NULL),
                     CNN_OK);
    ck_assert(cnn_wino_5x5_applicable(&s));
    for (int bn = 0; bn < 2; bn++) {
        const double e = against_im2col(&s, d[0], bn, 31u + 7 * _i);
        printf("F(4x4,5x5) %d x %d->%d %dx%d %s%s: %.2e\n", d[0], d[1], d[4],
               d[2], d[3], d[5] ? "same" : "valid",
               bn ? " + batch norm + relu" : "", e);
        ck_assert_msg(e <= 1e-4, "shape %d bn %d: %g", _i, bn, e);
    }
    const double e = backward_against_im2col(&s, d[0], 41u + 7 * _i);
    printf("F(4x4,5x5) %d x %d->%d %dx%d %s backward: %.2e\n", d[0], d[1],
           d[4], d[2], d[3], d[5] ? "same" : "valid", e);
    ck_assert_msg(e <= 1e-4, "shape %d backward: %g", _i, e);
}
END_TEST

/* Thread-private chunks (few channels, many tiles): three images of odd
 * size, so that chunks cross rows and images. */
START_TEST(private_chunks_match_im2col)
{
    const int n = 3;
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, 16, 141, 139, 24, 5, 5, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    const long long total = cnn_wino_grid_tiles(&s, 4, n);
    const int tiles = cnn_wino_private_tiles(total, CNN_WINO_LARGE_POINTS, 16,
                                             s.in_c, s.out_c);
    ck_assert_int_gt(tiles, 0);
    ck_assert_int_lt(tiles, total / 3);
    const double e = against_im2col(&s, n, 0, 71u);
    const double eb = backward_against_im2col(&s, n, 81u);
    printf("F(4x4,5x5) private chunks of %d tiles: %.2e, backward %.2e\n",
           tiles, e, eb);
    ck_assert_msg(e <= 1e-4, "%g", e);
    ck_assert_msg(eb <= 1e-4, "backward %g", eb);
}
END_TEST

/* The rule: 5x5 stride-1 layers with enough channels, trained or not;
 * under $CNN_WINOGRAD=all, every 5x5 stride-1 layer. */
START_TEST(rule_takes_5x5_layers)
{
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, 48, 35, 35, 64, 5, 5, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert_int_eq(wino_kind_for(&s, 1, 0, 0), WINO_5X5);
    ck_assert_int_eq(wino_kind_for(&s, 1, 1, 0), WINO_5X5); /* trained */
    ck_assert_int_eq(wino_kind_for(&s, 1, 0, 1), WINO_5X5); /* "all" */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 48, 35, 35, 64, 5, 5, 2, 2,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert(!cnn_wino_5x5_applicable(&s)); /* stride 2 */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 35, 35, 64, 5, 5, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert_int_eq(wino_kind_for(&s, 1, 0, 0), 0); /* 3 channels */
    ck_assert_int_eq(wino_kind_for(&s, 1, 0, 1), WINO_5X5);
}
END_TEST

#define NET_N 2
#define NET_C 16
#define NET_H 17
#define NET_W 19

/* input [2, 16, 17, 19] -> conv_a 5x5 'same' 20 + bias -> conv_b 5x5
 * 'valid' 18, trained, both on F(4x4, 5x5) (no ReLU: among the outputs a
 * finite-difference step would cross its kink somewhere). */
static cnn_net *small_net(int winograd)
{
    setenv("CNN_WINOGRAD", winograd ? "1" : "0", 1);
    cnn_net *net = cnn_net_new();
    ck_assert_ptr_nonnull(net);
    int x = cnn_net_add_input(net, "input", NET_C);
    x = cnn_net_add_conv(net, "conv_a", x, 20, 5, 5, 1, 1, CNN_PAD_SAME, 1,
                         CNN_ACT_NONE);
    cnn_net_add_conv(net, "conv_b", x, 18, 5, 5, 1, 1, CNN_PAD_VALID, 0,
                     CNN_ACT_NONE);
    ck_assert_int_eq(cnn_net_alloc_params(net, NULL), CNN_OK);
    cnn_net_init_he(net, 7);
    fill_uniform(cnn_net_find_param(net, "conv_a/bias")->data, 20, -0.1f,
                 0.1f, 8);
    ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, NULL), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, NET_N, NET_H, NET_W, 1, NULL), CNN_OK);
    unsetenv("CNN_WINOGRAD");
    for (int i = 1; i < net->nlayers; i++)
        ck_assert_int_eq(net->layers[i].wino, winograd ? WINO_5X5 : 0);
    return net;
}

/* A training plan: the forward matches im2col's, and the gradients (bias,
 * weights, input) central finite differences of the loss it computes. The
 * loss is linear in each value, so the step can be large: the forward's
 * rounding (about 3e-6 of the outputs, summed over 7020 of them) would
 * swamp a difference over a step of 0.05. */
START_TEST(training_gradients_match_finite_differences)
{
    const size_t nx = (size_t)NET_N * NET_C * NET_H * NET_W;
    cnn_net *ref = small_net(0), *net = small_net(1);
    fill_uniform(cnn_net_input(net), nx, -1, 1, 3);
    memcpy(cnn_net_input(ref), cnn_net_input(net), nx * sizeof(float));
    cnn_net_forward(ref, 1);
    cnn_net_forward(net, 1);
    int per;
    const float *y = cnn_net_output(net, &per);
    const double e =
        relative_error(y, cnn_net_output(ref, NULL), (size_t)per * NET_N);
    printf("F(4x4,5x5) training forward: %.2e against im2col\n", e);
    ck_assert_msg(e <= 1e-4, "%g", e);
    net_gradcheck(net, NET_N, 0.5);
    cnn_net_free(net);
    cnn_net_free(ref);
}
END_TEST

/* An InceptionV3 inference plan whose 5x5 layers take F(4x4, 5x5) gives
 * what the plan on im2col gives. */
START_TEST(network_matches_im2col)
{
    const int size = 139, n = 2; /* 15x15 maps in the 5x5 layers: quick */
    cnn_net *nets[2];
    for (int k = 0; k < 2; k++) {
        cnn_head_spec head = {CNN_HEAD_BINARY, NULL, 0, 0.0f};
        ck_assert_int_eq(cnn_inception_v3_build(&nets[k], &head, NULL), CNN_OK);
        ck_assert_int_eq(cnn_net_alloc_params(nets[k], NULL), CNN_OK);
        cnn_net_init_he(nets[k], 3);
        ck_assert_int_eq(cnn_net_keep(nets[k], "mixed2", CNN_KEEP_OUTPUT, NULL),
                         CNN_OK);
        setenv("CNN_WINOGRAD", k ? "0" : "1", 1);
        ck_assert_int_eq(cnn_net_plan(nets[k], n, size, size, 0, NULL), CNN_OK);
        unsetenv("CNN_WINOGRAD");
    }
    int taken = 0;
    for (int i = 0; i < nets[0]->nlayers; i++)
        taken += nets[0]->layers[i].wino == WINO_5X5;
    ck_assert_int_eq(taken, 3); /* mixed0-2's 5x5 layers */
    const size_t nx = (size_t)n * 3 * size * size;
    fill_uniform(cnn_net_input(nets[0]), nx, 0.0f, 1.0f, 9);
    memcpy(cnn_net_input(nets[1]), cnn_net_input(nets[0]), nx * sizeof(float));
    for (int k = 0; k < 2; k++)
        cnn_net_forward(nets[k], 0);
    int c, h, w;
    const float *a = cnn_net_layer_output(nets[0], "mixed2", &c, &h, &w);
    const float *b = cnn_net_layer_output(nets[1], "mixed2", NULL, NULL, NULL);
    ck_assert(a && b);
    const double e = relative_error(a, b, (size_t)n * c * h * w);
    printf("InceptionV3 at %dx%d, mixed2 with F(4x4,5x5): %.2e against im2col\n",
           size, size, e);
    ck_assert_msg(e <= 1e-4, "%g", e);
    for (int k = 0; k < 2; k++)
        cnn_net_free(nets[k]);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *s = suite_create("winograd_5x5");
    TCase *tc = tcase_create("forward");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, shapes_match_im2col, 0, NSHAPES);
    tcase_add_test(tc, private_chunks_match_im2col);
    tcase_add_test(tc, rule_takes_5x5_layers);
    tcase_add_test(tc, training_gradients_match_finite_differences);
    tcase_add_test(tc, network_matches_im2col);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
