/* test_heatmap.c - Grad-CAM: the map from activations and gradients, the jet
 * colour scale, bilinear sampling of the map and the blend, against values
 * worked out by hand from the formulas in heatmap.h; the share of a map's
 * mass in the border band (maps whose answer follows from the geometry). */
#include <check.h>
#include <stdlib.h>

#include "heatmap.h"
#include "util/suite.h"

static void expect_rgb(const uint8_t *got, int r, int g, int b)
{
    ck_assert_msg(got[0] == r && got[1] == g && got[2] == b,
                  "got (%d, %d, %d), want (%d, %d, %d)", got[0], got[1],
                  got[2], r, g, b);
}

START_TEST(gradcam_map)
{
    /* channel weights: mean gradient 0.5 and -0.25 */
    const float act[6] = {1, 2, 0, /* */ 0, 1, 4};
    const float grad[6] = {0.5f, 0.5f, 0.5f, /* */ -0.25f, 0, -0.5f};
    /* 0.5 (1, 2, 0) - 0.25 (0, 1, 4) = (0.5, 0.75, -1): ReLU, over 0.75 */
    float heat[3];
    cnn_heatmap_gradcam(2, 3, act, grad, heat);
    ck_assert_float_eq_tol(heat[0], 2.0f / 3.0f, 1e-6f);
    ck_assert_float_eq(heat[1], 1.0f);
    ck_assert_float_eq(heat[2], 0.0f);
    /* nothing positive: all 0, not a division by 0 */
    const float against[6] = {-1, -1, -1, /* */ 0, 0, 0};
    cnn_heatmap_gradcam(2, 3, act, against, heat);
    for (int i = 0; i < 3; i++)
        ck_assert_float_eq(heat[i], 0.0f);
}
END_TEST

START_TEST(jet_scale)
{
    uint8_t c[3];
    /* channel = clamp(1.5 - 4 |v - centre|) * 255, centres r .75 g .5 b .25 */
    cnn_heatmap_colour(0.0f, c);  expect_rgb(c, 0, 0, 128);
    cnn_heatmap_colour(0.25f, c); expect_rgb(c, 0, 128, 255);
    cnn_heatmap_colour(0.5f, c);  expect_rgb(c, 128, 255, 128);
    cnn_heatmap_colour(0.75f, c); expect_rgb(c, 255, 128, 0);
    cnn_heatmap_colour(1.0f, c);  expect_rgb(c, 128, 0, 0);
    cnn_heatmap_colour(-3.0f, c); expect_rgb(c, 0, 0, 128);
    cnn_heatmap_colour(7.0f, c);  expect_rgb(c, 128, 0, 0);
}
END_TEST

START_TEST(blend_constant_map)
{
    float grey[2] = {100, 200};
    cnn_image img = {.width = 2, .height = 1, .channels = 1, .data = grey};
    float heat[1] = {1.0f};
    uint8_t *rgb;
    ck_assert_int_eq(cnn_heatmap_overlay(&img, heat, 1, 1, 0.5f, &rgb, NULL), CNN_OK);
    /* a = 0.5: half the pixel plus half of colour(1) = (128, 0, 0) */
    expect_rgb(rgb, 114, 50, 50);
    expect_rgb(rgb + 3, 164, 100, 100);
    free(rgb);
}
END_TEST

START_TEST(blend_samples_bilinearly)
{
    float black[4] = {0, 0, 0, 0};
    cnn_image img = {.width = 4, .height = 1, .channels = 1, .data = black};
    float heat[2] = {0.0f, 1.0f};
    uint8_t *rgb;
    ck_assert_int_eq(cnn_heatmap_overlay(&img, heat, 1, 2, 1.0f, &rgb, NULL), CNN_OK);
    /* source x = (x + .5) * 2/4 - .5, clamped: 0, .25, .75, 1 -> v; over
     * black with a = v the pixel is v * colour(v). */
    expect_rgb(rgb + 0, 0, 0, 0);
    expect_rgb(rgb + 3, 0, 32, 64);    /* .25 * (0, 128, 255) */
    expect_rgb(rgb + 6, 191, 96, 0);   /* .75 * (255, 128, 0) */
    expect_rgb(rgb + 9, 128, 0, 0);
    free(rgb);
}
END_TEST

START_TEST(rgb_image_to_bytes)
{
    /* planar [3][1][2] -> interleaved, rounded and clamped */
    float px[6] = {0.4f, 300.0f, 10.5f, -2.0f, 254.6f, 128.0f};
    cnn_image img = {.width = 2, .height = 1, .channels = 3, .data = px};
    uint8_t *rgb;
    ck_assert_int_eq(cnn_image_to_rgb8(&img, &rgb, NULL), CNN_OK);
    expect_rgb(rgb, 0, 11, 255);
    expect_rgb(rgb + 3, 255, 0, 128);
    free(rgb);
}
END_TEST

START_TEST(border_share_uniform_map)
{
    /* the area outside the central square: 1 - 0.75^2 */
    float heat[12 * 12];
    for (int i = 0; i < 12 * 12; i++)
        heat[i] = 0.3f;
    ck_assert_double_eq_tol(cnn_heatmap_border_share(heat, 12, 12, 0.125), 0.4375, 1e-12);
    ck_assert_double_eq_tol(cnn_heatmap_border_share(heat, 12, 12, 0.25), 0.75, 1e-12);
    ck_assert_double_eq_tol(cnn_heatmap_border_share(heat, 12, 12, 0.0), 0.0, 1e-12);
    ck_assert_double_eq_tol(cnn_heatmap_border_share(heat, 12, 12, 0.5), 1.0, 1e-12);
}
END_TEST

START_TEST(border_share_ring_and_centre)
{
    /* 8x8, band 1/8 = exactly the outer ring of cells */
    float ring[64] = {0}, centre[64] = {0};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) {
            int outer = i == 0 || j == 0 || i == 7 || j == 7;
            ring[i * 8 + j] = outer ? (float)(i + j + 1) / 16 : 0.0f;
            centre[i * 8 + j] = outer ? 0.0f : 1.0f;
        }
    ck_assert_double_eq_tol(cnn_heatmap_border_share(ring, 8, 8, 0.125), 1.0, 1e-12);
    ck_assert_double_eq_tol(cnn_heatmap_border_share(centre, 8, 8, 0.125), 0.0, 1e-12);
    /* both: the ring's share of the total value */
    float both[64];
    double ring_sum = 0, total = 0;
    for (int i = 0; i < 64; i++) {
        both[i] = ring[i] + centre[i];
        ring_sum += ring[i];
        total += both[i];
    }
    ck_assert_double_eq_tol(cnn_heatmap_border_share(both, 8, 8, 0.125),
                            ring_sum / total, 1e-6);
}
END_TEST

START_TEST(border_share_cut_cells)
{
    /* 12x12 at band 0.125 = 1.5 cells: row 1, column 5 lies half in the top
     * band; row 1, column 1 lies in it but for a quarter of its area */
    float heat[144] = {0};
    heat[1 * 12 + 5] = 1.0f;
    ck_assert_double_eq_tol(cnn_heatmap_border_share(heat, 12, 12, 0.125), 0.5, 1e-12);
    heat[1 * 12 + 5] = 0.0f;
    heat[1 * 12 + 1] = 0.8f;
    ck_assert_double_eq_tol(cnn_heatmap_border_share(heat, 12, 12, 0.125), 0.75, 1e-12);
    /* not square: 2 rows x 4 columns, band 0.25 = one column, half a row */
    float wide[8] = {0, 0, 0, 0, 0, 1, 0, 0};
    ck_assert_double_eq_tol(cnn_heatmap_border_share(wide, 2, 4, 0.25), 0.5, 1e-12);
}
END_TEST

START_TEST(border_share_empty_map)
{
    float zero[9] = {0}, negative[4] = {-1, -2, 0, -0.5f};
    ck_assert_double_eq(cnn_heatmap_border_share(zero, 3, 3, 0.125), -1.0);
    ck_assert_double_eq(cnn_heatmap_border_share(negative, 2, 2, 0.125), -1.0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("heatmap");
    TCase *tc = tcase_create("display");
    tcase_add_test(tc, gradcam_map);
    tcase_add_test(tc, jet_scale);
    tcase_add_test(tc, blend_constant_map);
    tcase_add_test(tc, blend_samples_bilinearly);
    tcase_add_test(tc, rgb_image_to_bytes);
    suite_add_tcase(s, tc);
    TCase *border = tcase_create("border share");
    tcase_add_test(border, border_share_uniform_map);
    tcase_add_test(border, border_share_ring_and_centre);
    tcase_add_test(border, border_share_cut_cells);
    tcase_add_test(border, border_share_empty_map);
    suite_add_tcase(s, border);
    return run_suite(s);
}
