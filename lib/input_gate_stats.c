/* input_gate_stats.c - the gate's learned statistics: the layout thumbnail
 * and the statistics' storage in a model file (see input_gate.h). */
#include "input_gate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "input_gate."

void cnn_gate_thumbnail(const float *input, int size, float *thumb)
{
    const int side = CNN_GATE_THUMB_SIDE;
    const size_t plane = (size_t)size * size;
    double sum = 0.0, sum_sq = 0.0;
    for (int ty = 0; ty < side; ty++) {
        int y0 = ty * size / side, y1 = (ty + 1) * size / side;
        for (int tx = 0; tx < side; tx++) {
            int x0 = tx * size / side, x1 = (tx + 1) * size / side;
            double cell = 0.0;
            for (int c = 0; c < 3; c++)
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        cell += input[c * plane + (size_t)y * size + x];
            cell /= 3.0 * (y1 - y0) * (x1 - x0);
            thumb[ty * side + tx] = (float)cell;
            sum += cell;
            sum_sq += cell * cell;
        }
    }
    double mean = sum / CNN_GATE_THUMB_DIM;
    double var = sum_sq / CNN_GATE_THUMB_DIM - mean * mean;
    /* a flat input has no layout: all zeros, far from any X-ray's */
    double scale = var > 1e-12 ? 1.0 / sqrt(var) : 0.0;
    for (int i = 0; i < CNN_GATE_THUMB_DIM; i++)
        thumb[i] = (float)((thumb[i] - mean) * scale);
}

double cnn_gate_polarity(const cnn_input_gate *g, const float *thumb)
{
    const float *mean = g->layout.mean;
    double dot = 0.0, nx = 0.0, nm = 0.0;
    for (int i = 0; i < CNN_GATE_THUMB_DIM; i++) {
        dot += (double)thumb[i] * mean[i];
        nx += (double)thumb[i] * thumb[i];
        nm += (double)mean[i] * mean[i];
    }
    return nx > 0.0 && nm > 0.0 ? dot / sqrt(nx * nm) : 0.0;
}

int cnn_gate_tensor_name(const char *name)
{
    return strncmp(name, PREFIX, strlen(PREFIX)) == 0;
}

void cnn_gate_free(cnn_input_gate *g)
{
    if (!g)
        return;
    cnn_mahalanobis_free(&g->layout);
    cnn_mahalanobis_free(&g->features);
    free(g);
}

/* ---------------------------------------------------------------- reading */

static cnn_status read_threshold(const cnn_st_file *f, const char *path,
                                 const char *key, float *out, cnn_error *err)
{
    const char *v = cnn_st_metadata(f, key);
    if (!v)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: input gate statistics without "
                        "metadata %s", path, key);
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d > 0.0) || !isfinite(d) || d > 1e30)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: metadata %s '%s' is not a "
                        "positive number", path, key, v);
    *out = (float)d;
    return CNN_OK;
}

/* One Mahalanobis model: PREFIX<what>.mean [dim], PREFIX<what>.cholesky
 * [dim, dim], copied. */
static cnn_status read_stats(const cnn_st_file *f, const char *path,
                             const char *what, int dim, cnn_mahalanobis *out,
                             cnn_error *err)
{
    char mean_name[64], factor_name[64];
    snprintf(mean_name, sizeof mean_name, PREFIX "%s.mean", what);
    snprintf(factor_name, sizeof factor_name, PREFIX "%s.cholesky", what);
    const cnn_st_tensor *mean = cnn_st_find(f, mean_name);
    const cnn_st_tensor *factor = cnn_st_find(f, factor_name);
    if (!mean || !factor)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: input gate statistics without "
                        "%s", path, mean ? factor_name : mean_name);
    if (mean->dtype != CNN_DTYPE_F32 || factor->dtype != CNN_DTYPE_F32)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: %s.* must be float32", path,
                        what);
    if (mean->ndim != 1 || mean->shape[0] != dim || factor->ndim != 2 ||
        factor->shape[0] != dim || factor->shape[1] != dim)
        return cnn_fail(err, CNN_ERR_SHAPE, "%s: %s and %s must be [%d] and "
                        "[%d, %d] for this model", path, mean_name, factor_name,
                        dim, dim, dim);
    cnn_status st = cnn_mahalanobis_copy(mean->data, factor->data, dim, out, err);
    if (st != CNN_OK && err) {
        char inner[sizeof err->message];
        snprintf(inner, sizeof inner, "%s", err->message);
        cnn_fail(err, st, "%s: input gate %s statistics: %s", path, what, inner);
    }
    return st;
}

cnn_status cnn_gate_read(const cnn_st_file *f, const char *path,
                         int feature_dim, cnn_input_gate **out, cnn_error *err)
{
    *out = NULL;
    int any = cnn_st_metadata(f, PREFIX "thumbnail_side") != NULL;
    for (int i = 0; i < cnn_st_count(f) && !any; i++)
        any = cnn_gate_tensor_name(cnn_st_tensor_at(f, i)->name);
    if (!any)
        return CNN_OK;
    char side[16];
    snprintf(side, sizeof side, "%d", CNN_GATE_THUMB_SIDE);
    const char *v = cnn_st_metadata(f, PREFIX "thumbnail_side");
    if (!v || strcmp(v, side) != 0)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: input gate statistics for "
                        "thumbnails of side %s; this program makes them of %s",
                        path, v ? v : "(not given)", side);
    cnn_input_gate *g = calloc(1, sizeof *g);
    if (!g)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    cnn_status st = read_stats(f, path, "layout", CNN_GATE_THUMB_DIM, &g->layout, err);
    if (st == CNN_OK)
        st = read_stats(f, path, "features", feature_dim, &g->features, err);
    if (st == CNN_OK)
        st = read_threshold(f, path, PREFIX "layout.threshold",
                            &g->layout_threshold, err);
    if (st == CNN_OK)
        st = read_threshold(f, path, PREFIX "features.threshold",
                            &g->features_threshold, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, PREFIX "about")))
        snprintf(g->about, sizeof g->about, "%s", v);
    if (st != CNN_OK) {
        cnn_gate_free(g);
        return st;
    }
    *out = g;
    return CNN_OK;
}

/* ---------------------------------------------------------------- writing */

static cnn_status write_stats(cnn_st_writer *w, const char *what,
                              const cnn_mahalanobis *m, cnn_error *err)
{
    char name[64];
    int64_t shape[2] = {m->dim, m->dim};
    snprintf(name, sizeof name, PREFIX "%s.mean", what);
    cnn_status st = cnn_st_writer_add(w, name, CNN_DTYPE_F32, 1, shape, m->mean, err);
    snprintf(name, sizeof name, PREFIX "%s.cholesky", what);
    if (st == CNN_OK)
        st = cnn_st_writer_add(w, name, CNN_DTYPE_F32, 2, shape, m->factor, err);
    return st;
}

cnn_status cnn_gate_write(cnn_st_writer *w, const cnn_input_gate *g,
                          cnn_error *err)
{
    char side[16], layout[32], features[32];
    snprintf(side, sizeof side, "%d", CNN_GATE_THUMB_SIDE);
    /* 9 significant digits read back as the same float */
    snprintf(layout, sizeof layout, "%.9g", (double)g->layout_threshold);
    snprintf(features, sizeof features, "%.9g", (double)g->features_threshold);
    cnn_status st = write_stats(w, "layout", &g->layout, err);
    if (st == CNN_OK)
        st = write_stats(w, "features", &g->features, err);
    if (st == CNN_OK)
        st = cnn_st_writer_metadata(w, PREFIX "thumbnail_side", side, err);
    if (st == CNN_OK)
        st = cnn_st_writer_metadata(w, PREFIX "layout.threshold", layout, err);
    if (st == CNN_OK)
        st = cnn_st_writer_metadata(w, PREFIX "features.threshold", features, err);
    if (st == CNN_OK && g->about[0])
        st = cnn_st_writer_metadata(w, PREFIX "about", g->about, err);
    return st;
}
