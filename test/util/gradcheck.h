/* gradcheck.h - compares analytic gradients with central finite differences.
 *
 * The test supplies loss(ctx): it runs the op's forward from the current
 * inputs/parameters and returns a scalar in double, typically
 * sum(y[i] * r[i]) for a fixed random r (so that dL/dy = r is what the
 * backward pass was given). gradcheck perturbs `count` values of `x` one at
 * a time by +-step, and compares (L(x+h) - L(x-h)) / 2h with analytic[i]:
 * |num - ana| <= atol + rtol * max(|num|, |ana|). Sampling: at most
 * max_checks indices, spread evenly. Kinks (ReLU at 0, max-pool ties) must
 * be kept away from by the test's choice of inputs.
 */
#ifndef TEST_GRADCHECK_H
#define TEST_GRADCHECK_H

#include <stddef.h>

typedef double (*gradcheck_loss_fn)(void *ctx);

void gradcheck(const char *what, gradcheck_loss_fn loss, void *ctx, float *x,
               const float *analytic, size_t count, size_t max_checks,
               double step, double atol, double rtol);

/* Fills a with uniform values in [lo, hi) from a fixed seed. */
void fill_uniform(float *a, size_t count, float lo, float hi, unsigned seed);
/* sum(a[i] * b[i]) in double. */
double dot_double(const float *a, const float *b, size_t count);

#endif
