/* golden.c - golden-file reader and tolerance checks for the Check suites. */
#include "golden.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4)
        return 0;
    *v = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 1;
}

golden_file *golden_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        ck_abort_msg("cannot open golden file %s (run test/gen_golden_*.py?)", path);
    golden_file *g = calloc(1, sizeof *g);
    uint32_t name_len;
    while (read_u32(f, &name_len)) {
        g->arrays = realloc(g->arrays, (g->count + 1) * sizeof *g->arrays);
        golden_array *a = &g->arrays[g->count++];
        memset(a, 0, sizeof *a);
        ck_assert_msg(name_len < sizeof a->name, "%s: name too long", path);
        ck_assert(fread(a->name, 1, name_len, f) == name_len);
        uint32_t ndim;
        ck_assert(read_u32(f, &ndim) && ndim <= 8);
        a->ndim = (int)ndim;
        a->count = 1;
        for (uint32_t i = 0; i < ndim; i++) {
            uint32_t d;
            ck_assert(read_u32(f, &d));
            a->dims[i] = (int)d;
            a->count *= d;
        }
        a->data = malloc((a->count ? a->count : 1) * sizeof(float));
        ck_assert_msg(fread(a->data, sizeof(float), a->count, f) == a->count,
                      "%s: truncated array %s", path, a->name);
    }
    fclose(f);
    return g;
}

const golden_array *golden_get(const golden_file *g, const char *name)
{
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->arrays[i].name, name) == 0)
            return &g->arrays[i];
    ck_abort_msg("golden array %s not found", name);
    return NULL;
}

void golden_free(golden_file *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->count; i++)
        free(g->arrays[i].data);
    free(g->arrays);
    free(g);
}

double max_tolerance_ratio(const float *a, const float *b, size_t count,
                           double atol, double rtol, size_t *worst)
{
    double max_ratio = 0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
        if (!(r <= max_ratio)) { /* also catches NaN */
            max_ratio = isnan(r) ? INFINITY : r;
            at = i;
        }
    }
    if (worst)
        *worst = at;
    return max_ratio;
}

void assert_close(const char *what, const float *got, const float *want,
                  size_t count, double atol, double rtol)
{
    size_t worst;
    double r = max_tolerance_ratio(got, want, count, atol, rtol, &worst);
    ck_assert_msg(r <= 1.0, "%s: element %zu is %.9g, expected %.9g (atol %g, rtol %g)",
                  what, worst, got[worst], want[worst], atol, rtol);
}

double relative_error(const float *a, const float *b, size_t count)
{
    double diff = 0, top = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > diff || isnan(d))
            diff = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > top)
            top = fabs(b[i]);
    }
    return top > 0 ? diff / top : diff;
}

void assert_close_scaled(const char *what, const float *got,
                         const float *want, size_t count)
{
    double top = 0;
    for (size_t i = 0; i < count; i++)
        top = fmax(top, fabs(want[i]));
    assert_close(what, got, want, count, 1e-4 * top, 1e-4);
}

float *alloc_floats(size_t count)
{
    float *p = malloc((count ? count : 1) * sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}
