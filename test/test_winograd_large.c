/* test_winograd_large.c - Winograd F(6x6, 3x3) (lib/winograd_large.c):
 * the forward against the PyTorch goldens of the F(4x4) kind
 * (test/gen_golden_winograd.py: odd map sizes, 'same'/'valid' padding,
 * batches), with the fused ReLU and batch norm; forward and backward on
 * every 3x3 stride-1 layer shape of VGG16@224 and InceptionV3@299 against
 * the im2col path; the thread-private chunks on odd-sized images; the
 * rule; a trained network's gradients against finite differences; and an
 * inference plan against im2col. Relative error max|diff| / max|ref|
 * <= 1e-4 throughout. */
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
#include "util/wino_shapes.h"
#include "winograd.h"
#include "winograd_kinds.h"
#include "winograd_large.h"

#define GOLDEN "test/golden/winograd.bin"

static const char *const CASES[] = {
    "same_odd_n2",     "valid_odd_n3",    "same_smaller_than_tile",
    "valid_one_tile",  "same_1x1_image",  "same_19x17",
    "valid_3x3_image",
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static const golden_array *get(golden_file *g, const char *name,
                               const char *what)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s", name, what);
    return golden_get(g, key);
}

/* y = conv(x) + b, then ReLU, from the PyTorch golden; then with a batch
 * norm in the output stage against the same y normalized here. */
START_TEST(forward_matches_pytorch)
{
    golden_file *g = golden_load(GOLDEN);
    const char *name = CASES[_i];
    const float *sh = get(g, name, "shape")->data;
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, (int)sh[1], (int)sh[2], (int)sh[3],
                                         (int)sh[4], 3, 3, 1, 1,
                                         sh[9] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                         NULL),
                     CNN_OK);
    const int n = (int)sh[0], K = s.out_c;
    const float *x = get(g, name, "x")->data, *w = get(g, name, "w")->data;
    const float *b = sh[10] ? get(g, name, "b")->data : NULL;
    const float *want = get(g, name, "y")->data;
    const size_t yc = get(g, name, "y")->count, hw = (size_t)s.out_h * s.out_w;
    float *U = alloc_floats(cnn_wino_large_filter_floats(&s));
    float *ws = alloc_floats(cnn_wino_large_workspace_floats(&s, n));
    float *y = alloc_floats(yc), *ref = alloc_floats(yc);
    cnn_wino_large_filter(&s, w, U);
    for (size_t i = 0; i < yc; i++)
        y[i] = 1e30f; /* overwritten */
    cnn_wino_large_forward_bn(&s, n, x, U, b, NULL, NULL, NULL, 0, y, ws);
    assert_close_scaled(name, y, want, yc);
    cnn_wino_large_forward_bn(&s, n, x, U, b, NULL, NULL, NULL, 1, y, ws);
    for (size_t i = 0; i < yc; i++)
        ref[i] = want[i] > 0 ? want[i] : 0.0f;
    assert_close_scaled("relu", y, ref, yc);
    float *mean = alloc_floats(K), *scale = alloc_floats(K);
    float *beta = alloc_floats(K);
    fill_uniform(mean, K, -0.3f, 0.3f, 5);
    fill_uniform(scale, K, 0.5f, 1.5f, 6);
    fill_uniform(beta, K, -0.5f, 0.5f, 7);
    cnn_wino_large_forward_bn(&s, n, x, U, b, mean, scale, beta, 1, y, ws);
    for (size_t i = 0; i < yc; i++) {
        const int k = (int)(i / hw % K);
        const float v = (want[i] - mean[k]) * scale[k] + beta[k];
        ref[i] = v > 0 ? v : 0.0f;
    }
    assert_close_scaled("batch norm + relu", y, ref, yc);
    free(mean), free(scale), free(beta);
    free(U), free(ws), free(y), free(ref);
    golden_free(g);
}
END_TEST

/* x [n, C, H, W] through F(6x6) and im2col: the relative error. */
static double against_im2col(const cnn_conv_shape *s, int n, unsigned seed)
{
    const size_t xc = (size_t)n * s->in_c * s->in_h * s->in_w;
    const size_t yc = (size_t)n * s->out_c * s->out_h * s->out_w;
    const size_t wc = (size_t)s->out_c * s->in_c * 9;
    size_t ws = cnn_conv_workspace_floats(s) * n;
    if (cnn_wino_large_workspace_floats(s, n) > ws)
        ws = cnn_wino_large_workspace_floats(s, n);
    float *x = alloc_floats(xc), *w = alloc_floats(wc);
    float *b = alloc_floats(s->out_c), *y = alloc_floats(yc);
    float *ref = alloc_floats(yc), *work = alloc_floats(ws);
    float *U = alloc_floats(cnn_wino_large_filter_floats(s));
    /* post-ReLU-like inputs, He-scaled weights */
    fill_uniform(x, xc, 0.0f, 1.0f, seed);
    const float a = sqrtf(6.0f / (9.0f * s->in_c));
    fill_uniform(w, wc, -a, a, seed + 1);
    fill_uniform(b, s->out_c, -0.1f, 0.1f, seed + 2);
    cnn_conv2d_forward(s, n, x, w, b, ref, work);
    cnn_wino_large_filter(s, w, U);
    cnn_wino_large_forward_bn(s, n, x, U, b, NULL, NULL, NULL, 0, y, work);
    const double e = relative_error(y, ref, yc);
    free(x), free(w), free(b), free(y), free(ref), free(work), free(U);
    return e;
}

/* dx and dweight through F(6x6)'s backward and through im2col's: the
 * larger relative error. */
static double backward_against_im2col(const cnn_conv_shape *s, int n,
                                      unsigned seed)
{
    const size_t xc = (size_t)n * s->in_c * s->in_h * s->in_w;
    const size_t yc = (size_t)n * s->out_c * s->out_h * s->out_w;
    const size_t wc = (size_t)s->out_c * s->in_c * 9;
    size_t ws = cnn_conv_workspace_floats(s) * n;
    if (cnn_wino_large_backward_workspace_floats(s, n) > ws)
        ws = cnn_wino_large_backward_workspace_floats(s, n);
    float *x = alloc_floats(xc), *w = alloc_floats(wc), *dy = alloc_floats(yc);
    float *dx = alloc_floats(xc), *ref_dx = alloc_floats(xc);
    float *dw = alloc_floats(wc), *ref_dw = alloc_floats(wc);
    float *work = alloc_floats(ws);
    float *U = alloc_floats(cnn_wino_large_filter_floats(s));
    fill_uniform(x, xc, 0.0f, 1.0f, seed);
    const float a = sqrtf(6.0f / (9.0f * s->in_c));
    fill_uniform(w, wc, -a, a, seed + 1);
    fill_uniform(dy, yc, -1.0f, 1.0f, seed + 2);
    /* the weight gradients are added to what is there */
    fill_uniform(dw, wc, -1.0f, 1.0f, seed + 3);
    memcpy(ref_dw, dw, wc * sizeof(float));
    cnn_conv2d_backward(s, n, x, w, dy, ref_dx, ref_dw, NULL, work);
    cnn_wino_large_filter(s, w, U);
    for (size_t i = 0; i < xc; i++)
        dx[i] = 1e30f; /* overwritten */
    cnn_wino_large_backward(s, n, x, dy, U, dx, dw, work);
    const double ex = relative_error(dx, ref_dx, xc);
    const double ew = relative_error(dw, ref_dw, wc);
    free(x), free(w), free(dy), free(dx), free(ref_dx), free(dw), free(ref_dw);
    free(work), free(U);
    return ex > ew ? ex : ew;
}

#define MAX_SHAPES 64

START_TEST(network_shapes_match_im2col)
{
    cnn_conv_shape shapes[MAX_SHAPES];
    const char *where[MAX_SHAPES];
    const int count = wino_network_shapes(shapes, where, MAX_SHAPES);
    int large = 0;
    printf("F(6x6) vs im2col, max|diff|/max|ref| (batch 1), forward and "
           "backward:\n");
    for (int k = 0; k < count; k++) {
        const cnn_conv_shape *s = &shapes[k];
        const double e = against_im2col(s, 1, 11u + k);
        const double eb = backward_against_im2col(s, 1, 111u + k);
        const int picked = cnn_wino_large_preferred(s, 1);
        printf("  %-12s %4d -> %4d  %3dx%-3d pad %d,%d: %.2e %.2e  %s\n",
               where[k], s->in_c, s->out_c, s->in_h, s->in_w, s->pad_top,
               s->pad_left, e, eb, picked ? "F(6x6)" : "");
        ck_assert_msg(e <= 1e-4, "%d->%d %dx%d: %g", s->in_c, s->out_c,
                      s->in_h, s->in_w, e);
        ck_assert_msg(eb <= 1e-4, "%d->%d %dx%d backward: %g", s->in_c,
                      s->out_c, s->in_h, s->in_w, eb);
        large += picked;
    }
    ck_assert_int_ge(count, 12);
    ck_assert_int_ge(large, 2); /* VGG16's 224x224 and 112x112 layers */
}
END_TEST

/* Thread-private chunks (few channels, many tiles): three images of odd
 * size, so that chunks cross rows and images. */
START_TEST(private_chunks_match_im2col)
{
    const int n = 3;
    for (int valid = 0; valid < 2; valid++) {
        cnn_conv_shape s;
        ck_assert_int_eq(cnn_conv_shape_init(&s, 16, 141 + 2 * valid, 139, 24,
                                             3, 3, 1, 1,
                                             valid ? CNN_PAD_VALID : CNN_PAD_SAME,
                                             NULL), CNN_OK);
        const long long total = cnn_wino_grid_tiles(&s, 6, n);
        const int tiles = cnn_wino_private_tiles(total, CNN_WINO_LARGE_POINTS, 36,
                                                 s.in_c, s.out_c);
        ck_assert_int_gt(tiles, 0);
        ck_assert_int_lt(tiles, total / 3);
        const double e = against_im2col(&s, n, 61u + valid);
        const double eb = backward_against_im2col(&s, n, 71u + valid);
        printf("F(6x6) private chunks of %d tiles, %s: %.2e, backward %.2e\n",
               tiles, valid ? "valid" : "same", e, eb);
        ck_assert_msg(e <= 1e-4, "%s: %g", valid ? "valid" : "same", e);
        ck_assert_msg(eb <= 1e-4, "%s backward: %g", valid ? "valid" : "same",
                      eb);
    }
}
END_TEST

/* The rule: large 3x3 layers with few channels and enough tiles, trained
 * or not; not under $CNN_WINOGRAD=all (3x3 layers on F(4x4) there); and a
 * VGG16 inference plan's output with it is the im2col plan's. */
START_TEST(network_takes_it_for_large_layers)
{
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, 64, 224, 224, 64, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert_int_eq(wino_kind_for(&s, 1, 0, 0), WINO_LARGE);
    ck_assert_int_eq(wino_kind_for(&s, 1, 1, 0), WINO_LARGE); /* trained */
    ck_assert_int_eq(wino_kind_for(&s, 1, 0, 1), WINO_3X3);   /* "all" */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 512, 28, 28, 512, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert_int_eq(wino_kind_for(&s, 1, 0, 0), WINO_3X3);
    /* widening on a large map: InceptionV3's 80->192 layer at 224 */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 80, 54, 54, 192, 3, 3, 1, 1,
                                         CNN_PAD_VALID, NULL), CNN_OK);
    ck_assert_int_eq(wino_kind_for(&s, 16, 0, 0), WINO_LARGE);
    ck_assert_int_eq(cnn_conv_shape_init(&s, 128, 56, 56, 256, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert_int_eq(wino_kind_for(&s, 16, 0, 0), WINO_3X3); /* 15% waste */

    const int size = 72; /* VGG16 on a small image (6-wide tiles fit): quick */
    cnn_net *nets[2];
    for (int k = 0; k < 2; k++) {
        cnn_head_spec head = {CNN_HEAD_BINARY, NULL, 0, 0.0f};
        ck_assert_int_eq(cnn_vgg16_build(&nets[k], &head, NULL), CNN_OK);
        ck_assert_int_eq(cnn_net_alloc_params(nets[k], NULL), CNN_OK);
        cnn_net_init_he(nets[k], 3);
        setenv("CNN_WINOGRAD", k ? "0" : "1", 1);
        ck_assert_int_eq(cnn_net_plan(nets[k], 2, size, size, 0, NULL), CNN_OK);
        unsetenv("CNN_WINOGRAD");
    }
    int large = 0;
    for (int i = 0; i < nets[0]->nlayers; i++)
        large += nets[0]->layers[i].wino == WINO_LARGE;
    ck_assert_int_ge(large, 1);
    const size_t nx = (size_t)2 * 3 * size * size;
    fill_uniform(cnn_net_input(nets[0]), nx, 0.0f, 1.0f, 9);
    memcpy(cnn_net_input(nets[1]), cnn_net_input(nets[0]), nx * sizeof(float));
    int per;
    for (int k = 0; k < 2; k++)
        cnn_net_forward(nets[k], 0);
    const double e = relative_error(cnn_net_output(nets[0], &per),
                                    cnn_net_output(nets[1], NULL),
                                    (size_t)per * 2);
    printf("VGG16 at %dx%d, %d layers on F(6x6): %.2e against im2col\n", size,
           size, large, e);
    ck_assert_msg(e <= 1e-4, "%g", e);
    for (int k = 0; k < 2; k++)
        cnn_net_free(nets[k]);
}
END_TEST

#define NET_N 2
#define NET_C 64
#define NET_HW 24

/* input [2, 64, 24, 24] -> conv_a 3x3 'same' 64 + bias -> conv_b 3x3
 * 'valid' 64, trained, both on F(6x6) (24 and 22 are cut by 6-wide tiles
 * as cheaply as by 4-wide ones; no ReLU: a finite-difference step would
 * cross its kink somewhere). */
static cnn_net *small_net(int winograd)
{
    setenv("CNN_WINOGRAD", winograd ? "1" : "0", 1);
    cnn_net *net = cnn_net_new();
    ck_assert_ptr_nonnull(net);
    int x = cnn_net_add_input(net, "input", NET_C);
    x = cnn_net_add_conv(net, "conv_a", x, 64, 3, 3, 1, 1, CNN_PAD_SAME, 1,
                         CNN_ACT_NONE);
    cnn_net_add_conv(net, "conv_b", x, 64, 3, 3, 1, 1, CNN_PAD_VALID, 0,
                     CNN_ACT_NONE);
    ck_assert_int_eq(cnn_net_alloc_params(net, NULL), CNN_OK);
    cnn_net_init_he(net, 7);
    fill_uniform(cnn_net_find_param(net, "conv_a/bias")->data, 64, -0.1f,
                 0.1f, 8);
    ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, NULL), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, NET_N, NET_HW, NET_HW, 1, NULL), CNN_OK);
    unsetenv("CNN_WINOGRAD");
    for (int i = 1; i < net->nlayers; i++)
        ck_assert_int_eq(net->layers[i].wino, winograd ? WINO_LARGE : 0);
    return net;
}

/* A training plan: the forward matches im2col's, and the gradients (bias,
 * weights, input) central finite differences of the loss it computes. The
 * loss is linear in each value, so the step can be large: the forward's
 * rounding, summed over 62k outputs, would swamp a difference over a small
 * one. */
START_TEST(training_gradients_match_finite_differences)
{
    const size_t nx = (size_t)NET_N * NET_C * NET_HW * NET_HW;
    cnn_net *ref = small_net(0), *net = small_net(1);
    fill_uniform(cnn_net_input(net), nx, -1, 1, 3);
    memcpy(cnn_net_input(ref), cnn_net_input(net), nx * sizeof(float));
    cnn_net_forward(ref, 1);
    cnn_net_forward(net, 1);
    int per;
    const float *y = cnn_net_output(net, &per);
    const double e =
        relative_error(y, cnn_net_output(ref, NULL), (size_t)per * NET_N);
    printf("F(6x6) training forward: %.2e against im2col\n", e);
    ck_assert_msg(e <= 1e-4, "%g", e);
    net_gradcheck(net, NET_N, 0.5);
    cnn_net_free(net);
    cnn_net_free(ref);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *s = suite_create("winograd_large");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, NCASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("shapes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, network_shapes_match_im2col);
    tcase_add_test(tc, private_chunks_match_im2col);
    tcase_add_test(tc, network_takes_it_for_large_layers);
    tcase_add_test(tc, training_gradients_match_finite_differences);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
