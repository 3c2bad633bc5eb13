/* gradcheck.c - central-difference gradient checks for the Check suites. */
#include "gradcheck.h"

#include <check.h>
#include <math.h>

void gradcheck(const char *what, gradcheck_loss_fn loss, void *ctx, float *x,
               const float *analytic, size_t count, size_t max_checks,
               double step, double atol, double rtol)
{
    size_t stride = count > max_checks ? count / max_checks : 1;
    for (size_t i = 0; i < count; i += stride) {
        float saved = x[i];
        /* The step actually applied in float, so that rounding of x+h does
         * not bias the quotient. */
        float plus = (float)(saved + step), minus = (float)(saved - step);
        x[i] = plus;
        double lp = loss(ctx);
        x[i] = minus;
        double lm = loss(ctx);
        x[i] = saved;
        double numeric = (lp - lm) / ((double)plus - (double)minus);
        double a = analytic[i];
        double tol = atol + rtol * fmax(fabs(numeric), fabs(a));
        ck_assert_msg(fabs(numeric - a) <= tol,
                      "%s: gradient[%zu] analytic %.8g, numeric %.8g (tol %.3g)",
                      what, i, a, numeric, tol);
    }
}

void fill_uniform(float *a, size_t count, float lo, float hi, unsigned seed)
{
    unsigned long long s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (size_t i = 0; i < count; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        a[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

double dot_double(const float *a, const float *b, size_t count)
{
    double s = 0;
    for (size_t i = 0; i < count; i++)
        s += (double)a[i] * b[i];
    return s;
}
