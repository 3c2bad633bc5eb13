/* golden.h - reads the golden files written by test/golden.py.
 *
 * A golden file is a sequence of named float32 arrays:
 *   u32 name_len, name bytes, u32 ndim, u32 dims[ndim], f32 data[prod(dims)]
 * all little-endian. Integers (shapes, strides) are stored as float arrays.
 */
#ifndef TEST_GOLDEN_H
#define TEST_GOLDEN_H

#include <stddef.h>

typedef struct {
    char name[128];
    int ndim;
    int dims[8];
    size_t count;
    float *data;
} golden_array;

typedef struct {
    int count;
    golden_array *arrays;
} golden_file;

/* Loads path; aborts the test (ck_abort) if the file is missing or bad. */
golden_file *golden_load(const char *path);
/* The array called name; aborts the test if absent. */
const golden_array *golden_get(const golden_file *g, const char *name);
void golden_free(golden_file *g);

/* Largest |a-b| / (atol + rtol*|b|) over count values: <= 1 means within
 * tolerance. Reports the worst index through worst (may be NULL). */
double max_tolerance_ratio(const float *a, const float *b, size_t count,
                           double atol, double rtol, size_t *worst);

/* ck_assert with a readable report of the worst element. */
void assert_close(const char *what, const float *got, const float *want,
                  size_t count, double atol, double rtol);

/* max |a - b| / max |b| in double (infinite when a holds a NaN): the
 * error of a whole output relative to its scale. */
double relative_error(const float *a, const float *b, size_t count);

/* |got - want| <= 1e-4 * max|want| (+ 1e-4 relative): the accuracy bound
 * of the Winograd paths against im2col and PyTorch, relative to the
 * output's scale as in test_models.c. */
void assert_close_scaled(const char *what, const float *got,
                         const float *want, size_t count);

/* count floats (at least one) or the test aborts. */
float *alloc_floats(size_t count);

#endif
