/* input_gate.c - the gate's checks by name and reason, and the image checks
 * on a decoded image (see input_gate.h). */
#include "input_gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *reason;
} checks[] = {
    [CNN_GATE_ACCEPTED] = {"accepted", "accepted"},
    [CNN_GATE_TOO_SMALL] = {"size", "too small to judge"},
    [CNN_GATE_ASPECT] = {"aspect", "far too wide or too tall for a chest X-ray"},
    [CNN_GATE_COLOUR] = {"colour", "colour image"},
    [CNN_GATE_FLAT] = {"flat", "flat image: almost no contrast"},
    [CNN_GATE_TWO_LEVELS] = {"two-levels", "almost all pixels at two grey levels, "
                                           "like a document or a drawing"},
    [CNN_GATE_LAYOUT] = {"layout", "its layout is unlike a frontal chest X-ray "
                                   "(inverted, rotated, cropped or another subject?)"},
    [CNN_GATE_FEATURES] = {"features", "the model's features are unlike those of "
                                       "the chest X-rays it was trained on"},
    [CNN_GATE_HEADER] = {"header", "its DICOM header says it is not a frontal "
                                   "chest X-ray"},
    [CNN_GATE_POLARITY] = {"polarity", "inverted or turned: bright where a "
                                       "frontal chest X-ray is dark"},
};

const char *cnn_gate_check_name(cnn_gate_check c)
{
    return (unsigned)c < sizeof checks / sizeof checks[0] ? checks[c].name : "unknown";
}

const char *cnn_gate_reason(cnn_gate_check c)
{
    return (unsigned)c < sizeof checks / sizeof checks[0] ? checks[c].reason : "unknown";
}

/* The smallest level whose cumulative count reaches share q of n. */
static int percentile(const size_t *hist, size_t n, double q)
{
    size_t want = (size_t)ceil(q * (double)n), sum = 0;
    for (int v = 0; v < 256; v++) {
        sum += hist[v];
        if (sum >= want && sum > 0)
            return v;
    }
    return 255;
}

/* Pixels within +-CNN_GATE_LEVEL_WIDTH of v. */
static size_t window(const size_t *hist, int v)
{
    size_t sum = 0;
    for (int u = v - CNN_GATE_LEVEL_WIDTH; u <= v + CNN_GATE_LEVEL_WIDTH; u++)
        if (u >= 0 && u < 256)
            sum += hist[u];
    return sum;
}

/* The two fullest windows that do not overlap, as a share of n. */
static double two_levels(const size_t *hist, size_t n)
{
    int first = 0;
    for (int v = 1; v < 256; v++)
        if (window(hist, v) > window(hist, first))
            first = v;
    size_t second = 0;
    for (int v = 0; v < 256; v++)
        if (abs(v - first) > 2 * CNN_GATE_LEVEL_WIDTH && window(hist, v) > second)
            second = window(hist, v);
    return (double)(window(hist, first) + second) / (double)n;
}

void cnn_image_measure(const cnn_image *img, cnn_image_measures *out)
{
    memset(out, 0, sizeof *out);
    out->width = img->width;
    out->height = img->height;
    int longer = img->width > img->height ? img->width : img->height;
    int shorter = img->width > img->height ? img->height : img->width;
    out->aspect = shorter > 0 ? (double)longer / shorter : INFINITY;
    size_t n = (size_t)img->width * img->height;
    if (n == 0)
        return;
    size_t hist[256] = {0};
    double chroma = 0.0;
    const float *r = img->data, *g = r + n, *b = g + n;
    for (size_t i = 0; i < n; i++) {
        float grey = r[i];
        if (img->channels == 3) {
            grey = (r[i] + g[i] + b[i]) / 3.0f;
            chroma += fmaxf(r[i], fmaxf(g[i], b[i])) - fminf(r[i], fminf(g[i], b[i]));
        }
        int level = (int)lrintf(grey);
        hist[level < 0 ? 0 : level > 255 ? 255 : level]++;
    }
    out->chroma = chroma / (double)n;
    out->spread = percentile(hist, n, 0.95) - percentile(hist, n, 0.05);
    out->two_levels = two_levels(hist, n);
}

cnn_gate_check cnn_image_checks(const cnn_image_measures *m)
{
    if (m->width < CNN_GATE_MIN_SIDE || m->height < CNN_GATE_MIN_SIDE)
        return CNN_GATE_TOO_SMALL;
    if (m->aspect > CNN_GATE_MAX_ASPECT)
        return CNN_GATE_ASPECT;
    if (m->chroma > CNN_GATE_MAX_CHROMA)
        return CNN_GATE_COLOUR;
    if (m->spread < CNN_GATE_MIN_SPREAD)
        return CNN_GATE_FLAT;
    if (m->two_levels > CNN_GATE_MAX_TWO_LEVELS)
        return CNN_GATE_TWO_LEVELS;
    return CNN_GATE_ACCEPTED;
}
