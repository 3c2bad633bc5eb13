/* test_winograd.c - Winograd F(4x4, 3x3) convolution (lib/winograd.c):
 * forward and backward (input and weight gradients) against PyTorch goldens
 * with odd map sizes, 'same'/'valid' padding and batches
 * (test/gen_golden_winograd.py), the input gradient against central finite
 * differences of the Winograd forward, and every 3x3 stride-1 layer shape
 * of VGG16@224 and InceptionV3@299 against the im2col path (relative error
 * max|diff| / max|ref| <= 1e-4, printed per shape). */
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

#define GOLDEN "test/golden/winograd.bin"

static const char *const CASES[] = {
    "same_odd_n2",     "valid_odd_n3",    "same_smaller_than_tile",
    "valid_one_tile",  "same_1x1_image",  "same_19x17",
    "valid_3x3_image",
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

typedef struct {
    golden_file *g;
    const char *name;
    cnn_conv_shape s;
    int n;
    const float *x, *w, *b, *r;
    size_t x_count, y_count;
    float *U, *ws, *y, *dx, *dw;
    float *xv; /* a writable copy of x for finite differences */
} wino_case;

static const golden_array *get(const wino_case *c, const char *what)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s", c->name, what);
    return golden_get(c->g, key);
}

static void load_case(wino_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->g = golden_load(GOLDEN);
    c->name = name;
    const float *sh = get(c, "shape")->data;
    int d[11];
    for (int i = 0; i < 11; i++)
        d[i] = (int)sh[i];
    ck_assert_int_eq(d[5], 3);
    ck_assert_int_eq(d[7], 1);
    ck_assert_int_eq(cnn_conv_shape_init(&c->s, d[1], d[2], d[3], d[4], 3, 3,
                                         1, 1,
                                         d[9] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                         NULL),
                     CNN_OK);
    ck_assert(cnn_wino_applicable(&c->s));
    c->n = d[0];
    c->x = get(c, "x")->data;
    c->w = get(c, "w")->data;
    c->b = d[10] ? get(c, "b")->data : NULL;
    c->r = get(c, "r")->data;
    c->x_count = get(c, "x")->count;
    c->y_count = get(c, "y")->count;
    c->U = alloc_floats(cnn_wino_filter_floats(&c->s));
    size_t ws = cnn_wino_workspace_floats(&c->s, c->n);
    size_t wsb = cnn_wino_backward_workspace_floats(&c->s, c->n);
    c->ws = alloc_floats(ws > wsb ? ws : wsb);
    c->y = alloc_floats(c->y_count);
    c->dx = alloc_floats(c->x_count);
    c->dw = alloc_floats(get(c, "w")->count);
    c->xv = alloc_floats(c->x_count);
    memcpy(c->xv, c->x, c->x_count * sizeof(float));
    cnn_wino_filter(&c->s, c->w, NULL, c->U);
}

static void free_case(wino_case *c)
{
    free(c->U);
    free(c->dw);
    free(c->ws);
    free(c->y);
    free(c->dx);
    free(c->xv);
    golden_free(c->g);
}

START_TEST(forward_matches_pytorch)
{
    wino_case c;
    load_case(&c, CASES[_i]);
    for (size_t i = 0; i < c.y_count; i++)
        c.y[i] = 1e30f; /* overwritten */
    cnn_wino_forward(&c.s, c.n, c.x, c.U, c.b, 0, c.y, c.ws);
    const float *want = get(&c, "y")->data;
    assert_close_scaled(c.name, c.y, want, c.y_count);
    /* the fused ReLU */
    cnn_wino_forward(&c.s, c.n, c.x, c.U, c.b, 1, c.y, c.ws);
    float *relu = alloc_floats(c.y_count);
    for (size_t i = 0; i < c.y_count; i++)
        relu[i] = want[i] > 0 ? want[i] : 0.0f;
    assert_close_scaled("relu", c.y, relu, c.y_count);
    free(relu);
    free_case(&c);
}
END_TEST

START_TEST(backward_matches_pytorch)
{
    wino_case c;
    load_case(&c, CASES[_i]);
    const size_t w_count = get(&c, "w")->count;
    for (size_t i = 0; i < c.x_count; i++)
        c.dx[i] = 1e30f; /* overwritten */
    /* dweight is accumulated: start from 1 and take 1 off after */
    for (size_t i = 0; i < w_count; i++)
        c.dw[i] = 1.0f;
    cnn_wino_backward(&c.s, c.n, c.x, c.r, c.U, c.dx, c.dw, c.ws);
    for (size_t i = 0; i < w_count; i++)
        c.dw[i] -= 1.0f;
    assert_close_scaled("dx", c.dx, get(&c, "dx")->data, c.x_count);
    assert_close_scaled("dw", c.dw, get(&c, "dw")->data, w_count);
    /* each gradient alone is the same */
    float *dx_alone = alloc_floats(c.x_count), *dw_alone = alloc_floats(w_count);
    memset(dw_alone, 0, w_count * sizeof(float));
    cnn_wino_backward(&c.s, c.n, c.x, c.r, c.U, dx_alone, NULL, c.ws);
    cnn_wino_backward(&c.s, c.n, c.x, c.r, NULL, NULL, dw_alone, c.ws);
    assert_close_scaled("dx alone", dx_alone, c.dx, c.x_count);
    assert_close_scaled("dw alone", dw_alone, c.dw, w_count);
    free(dx_alone);
    free(dw_alone);
    free_case(&c);
}
END_TEST

static double wino_loss(void *ctx)
{
    wino_case *c = ctx;
    cnn_wino_forward(&c->s, c->n, c->xv, c->U, c->b, 0, c->y, c->ws);
    return dot_double(c->y, c->r, c->y_count);
}

START_TEST(backward_data_matches_finite_differences)
{
    wino_case c;
    load_case(&c, CASES[_i]);
    cnn_wino_backward(&c.s, c.n, NULL, c.r, c.U, c.dx, NULL, c.ws);
    /* L is linear in x, so a large step only fights rounding */
    gradcheck("dx", wino_loss, &c, c.xv, c.dx, c.x_count, 300, 0.05, 1e-3,
              1e-3);
    free_case(&c);
}
END_TEST

/* A per-output-channel scale (batch norm folded into the filter) is the
 * same as scaling the output. */
START_TEST(filter_scale_scales_output)
{
    wino_case c;
    load_case(&c, "same_odd_n2");
    const int K = c.s.out_c;
    float *scale = alloc_floats(K), *want = alloc_floats(c.y_count);
    for (int k = 0; k < K; k++)
        scale[k] = 0.25f + 0.125f * k;
    cnn_wino_forward(&c.s, c.n, c.x, c.U, NULL, 0, want, c.ws);
    const size_t hw = (size_t)c.s.out_h * c.s.out_w;
    for (size_t i = 0; i < c.y_count; i++)
        want[i] *= scale[i / hw % K];
    cnn_wino_filter(&c.s, c.w, scale, c.U);
    cnn_wino_forward(&c.s, c.n, c.x, c.U, NULL, 0, c.y, c.ws);
    assert_close_scaled("scaled", c.y, want, c.y_count);
    free(scale);
    free(want);
    free_case(&c);
}
END_TEST

/* ------------------------------------------------ network layer shapes */

#define MAX_SHAPES 64

START_TEST(network_shapes_match_im2col)
{
    cnn_conv_shape shapes[MAX_SHAPES];
    const char *where[MAX_SHAPES];
    int count = wino_network_shapes(shapes, where, MAX_SHAPES);
    ck_assert_int_ge(count, 12);
    printf("winograd vs im2col, max|diff|/max|ref| (batch 1):\n");
    for (int k = 0; k < count; k++) {
        const cnn_conv_shape *s = &shapes[k];
        size_t xc = (size_t)s->in_c * s->in_h * s->in_w;
        size_t yc = (size_t)s->out_c * s->out_h * s->out_w;
        size_t wc = (size_t)s->out_c * s->in_c * 9;
        size_t ws = cnn_conv_workspace_floats(s);
        size_t w1 = cnn_wino_workspace_floats(s, 1);
        size_t w2 = cnn_wino_backward_workspace_floats(s, 1);
        ws = ws > w1 ? ws : w1;
        ws = ws > w2 ? ws : w2;
        float *x = alloc_floats(xc), *w = alloc_floats(wc);
        float *dw = alloc_floats(wc), *dwref = alloc_floats(wc);
        float *b = alloc_floats(s->out_c), *dy = alloc_floats(yc);
        float *y = alloc_floats(yc), *ref = alloc_floats(yc);
        float *dx = alloc_floats(xc), *dxref = alloc_floats(xc);
        float *work = alloc_floats(ws);
        float *U = alloc_floats(cnn_wino_filter_floats(s));
        /* post-ReLU-like inputs, He-scaled weights */
        fill_uniform(x, xc, 0.0f, 1.0f, 11u + k);
        float a = sqrtf(6.0f / (9.0f * s->in_c));
        fill_uniform(w, wc, -a, a, 23u + k);
        fill_uniform(b, s->out_c, -0.1f, 0.1f, 37u + k);
        fill_uniform(dy, yc, -1.0f, 1.0f, 41u + k);
        cnn_conv2d_forward(s, 1, x, w, b, ref, work);
        cnn_wino_filter(s, w, NULL, U);
        cnn_wino_forward(s, 1, x, U, b, 0, y, work);
        double fwd = relative_error(y, ref, yc);
        /* the weight gradient is accumulated into what is there */
        fill_uniform(dwref, wc, -0.5f, 0.5f, 53u + k);
        memcpy(dw, dwref, wc * sizeof(float));
        cnn_conv2d_backward(s, 1, x, w, dy, dxref, dwref, NULL, work);
        cnn_wino_backward(s, 1, x, dy, U, dx, dw, work);
        double bwd = relative_error(dx, dxref, xc);
        double dwe = relative_error(dw, dwref, wc);
        printf("  %-12s %4d -> %4d  %3dx%-3d pad %d,%d: forward %.2e  "
               "backward-data %.2e  weights %.2e  %s\n",
               where[k], s->in_c, s->out_c, s->in_h, s->in_w, s->pad_top,
               s->pad_left, fwd, bwd, dwe,
               cnn_wino_preferred(s, 1, 0) ? "winograd" : "im2col");
        ck_assert_msg(dwe <= 1e-4, "weight gradient %d->%d %dx%d: %g", s->in_c,
                      s->out_c, s->in_h, s->in_w, dwe);
        ck_assert_msg(fwd <= 1e-4, "forward %d->%d %dx%d: %g", s->in_c,
                      s->out_c, s->in_h, s->in_w, fwd);
        ck_assert_msg(bwd <= 1e-4, "backward %d->%d %dx%d: %g", s->in_c,
                      s->out_c, s->in_h, s->in_w, bwd);
        free(x), free(w), free(b), free(dy), free(y), free(ref);
        free(dx), free(dxref), free(work), free(U), free(dw), free(dwref);
    }
}
END_TEST

/* Thread-private chunks (few channels, many tiles) against im2col: three
 * images of odd size, so that chunks cross rows and images; the input
 * gradient adds up across chunks two apart in parallel. */
START_TEST(private_chunks_match_im2col)
{
    const int n = 3;
    for (int valid = 0; valid < 2; valid++) {
        cnn_conv_shape s;
        ck_assert_int_eq(cnn_conv_shape_init(&s, 16, 141 + 2 * valid, 139, 24,
                                             3, 3, 1, 1,
                                             valid ? CNN_PAD_VALID : CNN_PAD_SAME,
                                             NULL), CNN_OK);
        const int tiles = cnn_wino_private_tiles(
            cnn_wino_grid_tiles(&s, 4, n), CNN_WINO_POINTS, 16, s.in_c, s.out_c);
        ck_assert_int_gt(tiles, 0);
        ck_assert_int_lt(tiles, cnn_wino_grid_tiles(&s, 4, n) / 3);
        size_t xc = (size_t)n * s.in_c * s.in_h * s.in_w;
        size_t yc = (size_t)n * s.out_c * s.out_h * s.out_w;
        size_t wc = (size_t)s.out_c * s.in_c * 9;
        size_t ws = cnn_conv_workspace_floats(&s);
        if (cnn_wino_backward_workspace_floats(&s, n) > ws)
            ws = cnn_wino_backward_workspace_floats(&s, n);
        if (cnn_wino_workspace_floats(&s, n) > ws)
            ws = cnn_wino_workspace_floats(&s, n);
        float *x = alloc_floats(xc), *w = alloc_floats(wc), *b = alloc_floats(24);
        float *y = alloc_floats(yc), *ref = alloc_floats(yc), *dy = alloc_floats(yc);
        float *dx = alloc_floats(xc), *dxref = alloc_floats(xc);
        float *dw = alloc_floats(wc), *dwref = alloc_floats(wc);
        float *work = alloc_floats(ws), *U = alloc_floats(cnn_wino_filter_floats(&s));
        fill_uniform(x, xc, -1.0f, 1.0f, 61u + valid);
        fill_uniform(w, wc, -0.3f, 0.3f, 67u + valid);
        fill_uniform(b, 24, -0.1f, 0.1f, 71u + valid);
        fill_uniform(dy, yc, -1.0f, 1.0f, 73u + valid);
        memset(dw, 0, wc * sizeof(float));
        memset(dwref, 0, wc * sizeof(float));
        cnn_conv2d_forward(&s, n, x, w, b, ref, work);
        cnn_conv2d_backward(&s, n, x, w, dy, dxref, dwref, NULL, work);
        cnn_wino_filter(&s, w, NULL, U);
        cnn_wino_forward(&s, n, x, U, b, 0, y, work);
        cnn_wino_backward(&s, n, x, dy, U, dx, dw, work);
        double e[3] = {relative_error(y, ref, yc), relative_error(dx, dxref, xc),
                       relative_error(dw, dwref, wc)};
        printf("private chunks of %d tiles, %s: forward %.2e  input gradient "
               "%.2e  weights %.2e\n", tiles, valid ? "valid" : "same", e[0],
               e[1], e[2]);
        for (int j = 0; j < 3; j++)
            ck_assert_msg(e[j] <= 1e-4, "pass %d: %g", j, e[j]);
        free(x), free(w), free(b), free(y), free(ref), free(dy), free(dx);
        free(dxref), free(dw), free(dwref), free(work), free(U);
    }
}
END_TEST

/* The rule: VGG16's first layer (3 input channels) and 1-image maps of a
 * few tiles stay on im2col; the others take Winograd, except layers being
 * trained on fewer than 32 tiles (their filter transforms cost more). */
START_TEST(rule_picks_by_channels_and_tiles)
{
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, 3, 224, 224, 64, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert(!cnn_wino_preferred(&s, 1, 0));
    ck_assert_int_eq(cnn_conv_shape_init(&s, 64, 224, 224, 64, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert(cnn_wino_preferred(&s, 1, 0));
    ck_assert(cnn_wino_preferred(&s, 1, 1));
    ck_assert_int_eq(cnn_conv_shape_init(&s, 512, 14, 14, 512, 3, 3, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert(cnn_wino_preferred(&s, 1, 0));  /* 16 tiles */
    ck_assert(!cnn_wino_preferred(&s, 1, 1));
    ck_assert(cnn_wino_preferred(&s, 2, 1));  /* 32 tiles */
    ck_assert_int_eq(cnn_conv_shape_init(&s, 64, 224, 224, 64, 3, 3, 2, 2,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert(!cnn_wino_applicable(&s) && !cnn_wino_preferred(&s, 1, 0));
    ck_assert_int_eq(cnn_conv_shape_init(&s, 64, 8, 8, 64, 1, 3, 1, 1,
                                         CNN_PAD_SAME, NULL), CNN_OK);
    ck_assert(!cnn_wino_applicable(&s));
}
END_TEST

/* ------------------------------------------------ in the network */

#define NET_N 2
#define NET_C 16
#define NET_H 17
#define NET_W 19

/* input [2, 16, 17, 19] -> conv_a 3x3 'same' 16 + bias (+ act_a) -> conv_b
 * 3x3 'valid' 17: both big enough for the rule to pick Winograd. The
 * gradient test leaves out the ReLU: among 10k outputs a finite-difference
 * step crosses its kink somewhere (the im2col path fails the same way). */
static cnn_net *small_net(int winograd, int training, cnn_act act_a)
{
    setenv("CNN_WINOGRAD", winograd ? "1" : "0", 1);
    cnn_net *net = cnn_net_new();
    ck_assert_ptr_nonnull(net);
    int x = cnn_net_add_input(net, "input", NET_C);
    x = cnn_net_add_conv(net, "conv_a", x, 16, 3, 3, 1, 1, CNN_PAD_SAME, 1,
                         act_a);
    cnn_net_add_conv(net, "conv_b", x, 17, 3, 3, 1, 1, CNN_PAD_VALID, 0,
                     CNN_ACT_NONE);
    ck_assert_int_eq(cnn_net_alloc_params(net, NULL), CNN_OK);
    cnn_net_init_he(net, 7);
    fill_uniform(cnn_net_find_param(net, "conv_a/bias")->data, 16, -0.1f,
                 0.1f, 8);
    if (training)
        ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, NULL),
                         CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, NET_N, NET_H, NET_W, training, NULL),
                     CNN_OK);
    unsetenv("CNN_WINOGRAD");
    for (int i = 1; i < net->nlayers; i++)
        ck_assert_int_eq(net->layers[i].wino, winograd);
    return net;
}

/* The network's Winograd forward, backward-data and the weight gradients
 * (im2col) against central finite differences; without the ReLU the loss
 * is linear in each value, so a large step only fights rounding. */
START_TEST(network_gradients_match_finite_differences)
{
    cnn_net *net = small_net(1, 1, CNN_ACT_NONE);
    net_gradcheck(net, NET_N, 0.05);
    cnn_net_free(net);
}
END_TEST

/* Inference reuses the transformed filters while the weights stay, and
 * notices weights written behind its back (no call needed). */
/* conv (no bias) -> batch norm -> ReLU -> conv, inference: the batch norm
 * and ReLU run in the convolution's output stage (Winograd, or one pass
 * after im2col) and give what the separate layers give (training plan). */
static cnn_net *bn_net(int winograd, int training)
{
    setenv("CNN_WINOGRAD", winograd ? "1" : "0", 1);
    cnn_net *net = cnn_net_new();
    int x = cnn_net_add_input(net, "input", NET_C);
    x = cnn_net_add_conv(net, "conv_a", x, 16, 3, 3, 1, 1, CNN_PAD_SAME, 0,
                         CNN_ACT_NONE);
    x = cnn_net_add_batchnorm(net, "bn", x, 1, 1e-3f, 0.99f);
    x = cnn_net_add_activation(net, "relu", x, CNN_ACT_RELU);
    cnn_net_add_conv(net, "conv_b", x, 17, 3, 3, 1, 1, CNN_PAD_VALID, 1,
                     CNN_ACT_NONE);
    ck_assert_int_eq(cnn_net_alloc_params(net, NULL), CNN_OK);
    cnn_net_init_he(net, 9);
    fill_uniform(cnn_net_find_param(net, "bn/gamma")->data, 16, 0.5f, 1.5f, 1);
    fill_uniform(cnn_net_find_param(net, "bn/beta")->data, 16, -0.5f, 0.5f, 2);
    fill_uniform(cnn_net_find_param(net, "bn/moving_mean")->data, 16, -0.3f,
                 0.3f, 3);
    fill_uniform(cnn_net_find_param(net, "bn/moving_variance")->data, 16,
                 0.5f, 2.0f, 4);
    ck_assert_int_eq(cnn_net_plan(net, NET_N, NET_H, NET_W, training, NULL),
                     CNN_OK);
    unsetenv("CNN_WINOGRAD");
    const net_layer *conv = &net->layers[1];
    ck_assert_int_eq(conv->wino, winograd);
    ck_assert_int_eq(conv->fused_bn != 0, !training);
    ck_assert_int_eq(conv->fused_relu, !training);
    return net;
}

START_TEST(network_batchnorm_fused_into_conv)
{
    cnn_net *nets[3] = {bn_net(1, 0), bn_net(0, 0), bn_net(0, 1)};
    const size_t nx = (size_t)NET_N * NET_C * NET_H * NET_W;
    fill_uniform(cnn_net_input(nets[0]), nx, -1, 1, 3);
    for (int k = 1; k < 3; k++)
        memcpy(cnn_net_input(nets[k]), cnn_net_input(nets[0]),
               nx * sizeof(float));
    int per;
    for (int k = 0; k < 3; k++)
        cnn_net_forward(nets[k], 0);
    const float *want = cnn_net_output(nets[2], &per);
    for (int k = 0; k < 2; k++) {
        double e = relative_error(cnn_net_output(nets[k], NULL), want,
                                  (size_t)per * NET_N);
        printf("fused batch norm + ReLU (%s): %.2e\n",
               k ? "im2col" : "winograd", e);
        ck_assert_msg(e <= 1e-5, "%s: %g", k ? "im2col" : "winograd", e);
    }
    for (int k = 0; k < 3; k++)
        cnn_net_free(nets[k]);
}
END_TEST

START_TEST(network_inference_follows_weight_changes)
{
    cnn_net *wino = small_net(1, 0, CNN_ACT_RELU);
    cnn_net *ref = small_net(0, 0, CNN_ACT_RELU);
    const size_t nx = (size_t)NET_N * NET_C * NET_H * NET_W;
    int per;
    for (int round = 0; round < 3; round++) {
        fill_uniform(cnn_net_input(wino), nx, -1, 1, 3 + round);
        memcpy(cnn_net_input(ref), cnn_net_input(wino), nx * sizeof(float));
        cnn_net_forward(wino, 0);
        cnn_net_forward(ref, 0);
        const float *y = cnn_net_output(wino, &per);
        const float *want = cnn_net_output(ref, NULL);
        double e = relative_error(y, want, (size_t)per * NET_N);
        ck_assert_msg(e <= 1e-5, "round %d: %g", round, e);
        /* change one weight in both nets, as a weight load would */
        float *wa = cnn_net_find_param(wino, "conv_b/kernel")->data;
        float *wb = cnn_net_find_param(ref, "conv_b/kernel")->data;
        wa[17 * round] += 0.5f;
        wb[17 * round] += 0.5f;
    }
    cnn_net_free(wino);
    cnn_net_free(ref);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *suite = suite_create("winograd");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_data_matches_finite_differences, 0,
                        NCASES);
    tcase_add_test(tc, filter_scale_scales_output);
    suite_add_tcase(suite, tc);
    tc = tcase_create("networks");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, network_shapes_match_im2col);
    tcase_add_test(tc, private_chunks_match_im2col);
    tcase_add_test(tc, rule_picks_by_channels_and_tiles);
    tcase_add_test(tc, network_gradients_match_finite_differences);
    tcase_add_test(tc, network_inference_follows_weight_changes);
    tcase_add_test(tc, network_batchnorm_fused_into_conv);
    suite_add_tcase(suite, tc);
    return run_suite(suite);
}
