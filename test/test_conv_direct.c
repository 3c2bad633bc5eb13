/* test_conv_direct.c - direct convolution for few taps (lib/conv_direct.c)
 * against a convolution summed in double from the definition: 'same' and
 * 'valid' padding, widths that are and are not whole blocks of 16, output
 * channels past the last block of 16, batches, bias or none, ReLU or none;
 * the shapes it takes; and VGG16's first layer chosen for it by the plan
 * with the network's output unchanged against im2col. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "cnn.h"
#include "conv_direct.h"
#include "network_internal.h"
#include "util/gradcheck.h"
#include "util/suite.h"

/* in_c, out_c, in_h, in_w, kh, kw, same padding, batch, bias, relu */
static const int CASES[][10] = {
    {3, 64, 24, 32, 3, 3, 1, 1, 1, 1}, /* VGG16's first layer, smaller */
    {3, 20, 17, 40, 3, 3, 1, 2, 1, 1}, /* 4 channels past a block; 40 wide */
    {1, 16, 9, 33, 5, 5, 0, 1, 0, 0},  /* 'valid' 5x5: 29 wide */
    {2, 17, 5, 16, 3, 3, 1, 3, 1, 0},  /* exactly one block wide */
    {4, 33, 7, 21, 1, 7, 1, 1, 1, 1},  /* a 1x7 row kernel */
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

START_TEST(direct_matches_definition)
{
    const int *c = CASES[_i];
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, c[0], c[2], c[3], c[1], c[4],
                                         c[5], 1, 1,
                                         c[6] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                         NULL),
                     CNN_OK);
    ck_assert(cnn_conv_direct_applicable(&s));
    const int n = c[7], relu = c[9];
    const size_t nx = (size_t)n * s.in_c * s.in_h * s.in_w;
    const size_t ny = (size_t)n * s.out_c * s.out_h * s.out_w;
    const size_t nw = (size_t)s.out_c * s.in_c * s.kh * s.kw;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w);
    float *b = malloc(s.out_c * sizeof *b), *y = malloc(ny * sizeof *y);
    float *ws = malloc(cnn_conv_direct_workspace_floats(&s) * sizeof *ws);
    ck_assert(x && w && b && y && ws);
    fill_uniform(x, nx, -1, 1, 1 + _i);
    fill_uniform(w, nw, -1, 1, 2 + _i);
    fill_uniform(b, s.out_c, -1, 1, 3 + _i);
    cnn_conv_direct_forward(&s, n, x, w, c[8] ? b : NULL, relu, y, ws);
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < s.out_c; o++)
            for (int r = 0; r < s.out_h; r++)
                for (int q = 0; q < s.out_w; q++) {
                    double want = c[8] ? b[o] : 0.0;
                    for (int ch = 0; ch < s.in_c; ch++)
                        for (int ky = 0; ky < s.kh; ky++)
                            for (int kx = 0; kx < s.kw; kx++) {
                                const int iy = r + ky - s.pad_top;
                                const int ix = q + kx - s.pad_left;
                                if (iy < 0 || iy >= s.in_h || ix < 0 ||
                                    ix >= s.in_w)
                                    continue;
                                want += (double)x[(((size_t)i * s.in_c + ch) *
                                                       s.in_h + iy) * s.in_w + ix] *
                                        w[(((size_t)o * s.in_c + ch) * s.kh + ky) *
                                              s.kw + kx];
                            }
                    if (relu && want < 0)
                        want = 0;
                    const float got =
                        y[(((size_t)i * s.out_c + o) * s.out_h + r) * s.out_w + q];
                    const double e = fabs(got - want);
                    worst = e > worst ? e : worst;
                }
    ck_assert_msg(worst <= 1e-5, "case %d: max error %g", _i, worst);
    free(x);
    free(w);
    free(b);
    free(y);
    free(ws);
}
END_TEST

START_TEST(relu_zeroes_nan_and_negative_zero)
{
    /* as cnn_relu_forward: what is not above zero becomes +0 */
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, 1, 1, 16, 16, 1, 1, 1, 1,
                                         CNN_PAD_VALID, NULL),
                     CNN_OK);
    float x[16], w[16], b[16], y[16 * 16], ws[4096];
    ck_assert(cnn_conv_direct_workspace_floats(&s) <= 4096);
    for (int i = 0; i < 16; i++) {
        x[i] = i == 3 ? NAN : i == 4 ? -0.0f : (float)i - 8;
        w[i] = 1.0f;
        b[i] = 0.0f;
    }
    cnn_conv_direct_forward(&s, 1, x, w, b, 1, y, ws);
    for (int i = 0; i < 16; i++) {
        const float want = x[i] > 0.0f ? x[i] : 0.0f;
        ck_assert_msg(y[i] == want && !signbit(y[i]), "lane %d: %g", i, y[i]);
    }
}
END_TEST

START_TEST(takes_few_taps_stride_one_wide_rows)
{
    cnn_conv_shape s;
    /* VGG16's first layer */
    cnn_conv_shape_init(&s, 3, 224, 224, 64, 3, 3, 1, 1, CNN_PAD_SAME, NULL);
    ck_assert(cnn_conv_direct_applicable(&s));
    /* InceptionV3's first layer: stride 2 */
    cnn_conv_shape_init(&s, 3, 299, 299, 32, 3, 3, 2, 2, CNN_PAD_VALID, NULL);
    ck_assert(!cnn_conv_direct_applicable(&s));
    /* 4 x 3 x 3 = 36 taps */
    cnn_conv_shape_init(&s, 4, 32, 32, 16, 3, 3, 1, 1, CNN_PAD_SAME, NULL);
    ck_assert(!cnn_conv_direct_applicable(&s));
    /* 15 outputs wide */
    cnn_conv_shape_init(&s, 3, 32, 15, 16, 3, 3, 1, 1, CNN_PAD_SAME, NULL);
    ck_assert(!cnn_conv_direct_applicable(&s));
}
END_TEST

/* VGG16 at 32x32: the plan runs its first layer direct, and the output
 * equals the one with every convolution on im2col ($CNN_WINOGRAD=0). */
START_TEST(vgg16_first_layer_runs_direct)
{
    cnn_head_spec head = {CNN_HEAD_BINARY, NULL, 0, 0.0f};
    cnn_net *fast, *plain;
    ck_assert_int_eq(cnn_vgg16_build(&fast, &head, NULL), CNN_OK);
    ck_assert_int_eq(cnn_vgg16_build(&plain, &head, NULL), CNN_OK);
    ck_assert_int_eq(cnn_net_alloc_params(fast, NULL), CNN_OK);
    ck_assert_int_eq(cnn_net_alloc_params(plain, NULL), CNN_OK);
    cnn_net_init_he(fast, 5);
    cnn_net_init_he(plain, 5);
    ck_assert_int_eq(cnn_net_plan(fast, 2, 32, 32, 0, NULL), CNN_OK);
    setenv("CNN_WINOGRAD", "0", 1);
    ck_assert_int_eq(cnn_net_plan(plain, 2, 32, 32, 0, NULL), CNN_OK);
    unsetenv("CNN_WINOGRAD");
    ck_assert(fast->layers[1].direct);
    ck_assert(!plain->layers[1].direct);
    for (int i = 2; i < fast->nlayers; i++)
        ck_assert_msg(!fast->layers[i].direct, "%s", fast->layers[i].name);
    const size_t nx = (size_t)2 * 3 * 32 * 32;
    fill_uniform(cnn_net_input(fast), nx, -1, 1, 9);
    fill_uniform(cnn_net_input(plain), nx, -1, 1, 9);
    cnn_net_forward(fast, 0);
    cnn_net_forward(plain, 0);
    int per;
    const float *a = cnn_net_output(fast, &per);
    const float *want = cnn_net_output(plain, NULL);
    for (int i = 0; i < 2 * per; i++)
        ck_assert_msg(fabsf(a[i] - want[i]) <= 1e-5f * (1 + fabsf(want[i])),
                      "output %d: %g against %g", i, a[i], want[i]);
    cnn_net_free(fast);
    cnn_net_free(plain);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *suite = suite_create("conv_direct");
    TCase *tc = tcase_create("direct");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, direct_matches_definition, 0, NCASES);
    tcase_add_test(tc, relu_zeroes_nan_and_negative_zero);
    tcase_add_test(tc, takes_few_taps_stride_one_wide_rows);
    tcase_add_test(tc, vgg16_first_layer_runs_direct);
    suite_add_tcase(suite, tc);
    return run_suite(suite);
}
