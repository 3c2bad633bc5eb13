/* batchnorm.c - batch normalization over (n, h, w) per channel, Keras
 * semantics: y = gamma * (x - mean) / sqrt(var + eps) + beta.
 *
 * Shapes: x, y, dx, dy [n, c, hw]; gamma, beta, running statistics,
 * save_mean, save_invstd, dgamma, dbeta [c]. y may be x and dx may be dy
 * (the network runs inference batch norm in place), and the inference
 * backward reads x only for dgamma and dbeta. With relu, the forward
 * writes max(y, 0): the ReLU after it costs no pass over memory of its own.
 *
 * Channels are independent, so every loop is parallel over channels and each
 * channel's sums are taken by one thread in a fixed order (in double): the
 * results do not depend on the thread count.
 */
#include <assert.h>
#include <math.h>

#include "channel_sum.h"
#include "cnn.h"

/* sum over the channel of (x - mean)^2. */
static double channel_sq_dev(int n, int c, int hw, int ch, const float *x,
                             double mean)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        const float *p = x + ((size_t)i * c + ch) * hw;
#pragma omp simd reduction(+ : sum)
        for (int k = 0; k < hw; k++) {
            double d = p[k] - mean;
            sum += d * d;
        }
    }
    return sum;
}

/* y = (x - mean) * scale + beta over one channel, then max(y, 0) with
 * relu; subtracting the mean first avoids the cancellation of
 * x * scale + shift when |mean| >> std. */
static void channel_normalize(int n, int c, int hw, int ch, const float *x,
                              float mean, float scale, float beta, int relu,
                              float *y)
{
    for (int i = 0; i < n; i++) {
        size_t off = ((size_t)i * c + ch) * hw;
        for (int k = 0; k < hw; k++) {
            float v = (x[off + k] - mean) * scale + beta;
            y[off + k] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

/* sum(dy) and sum(dy * (x - mean)) over one channel. */
static void channel_grad_sums(int n, int c, int hw, int ch, const float *x,
                              const float *dy, float mean, double *sum_dy,
                              double *sum_dy_xc)
{
    double s = 0, sx = 0;
    for (int i = 0; i < n; i++) {
        size_t off = ((size_t)i * c + ch) * hw;
        const float *xp = x + off, *dp = dy + off;
#pragma omp simd reduction(+ : s, sx)
        for (int k = 0; k < hw; k++) {
            s += dp[k];
            sx += (double)dp[k] * ((double)xp[k] - mean);
        }
    }
    *sum_dy = s;
    *sum_dy_xc = sx;
}

void cnn_batchnorm_forward_train(int n, int c, int hw, const float *x,
                                 const float *gamma, const float *beta,
                                 float *running_mean, float *running_var,
                                 float momentum, float eps, int relu,
                                 float *y, float *save_mean, float *save_invstd)
{
    assert(n > 0 && c > 0 && hw > 0 && x && beta && y);
    assert(running_mean && running_var && save_mean && save_invstd);
    const double count = (double)n * hw;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        /* two passes: the mean first, then squared deviations (stable) */
        double mean = cnn_channel_sum(n, c, (size_t)hw, ch, x) / count;
        double var = channel_sq_dev(n, c, hw, ch, x, mean) / count;
        double invstd = 1.0 / sqrt(var + eps);
        double g = gamma ? gamma[ch] : 1.0;
        channel_normalize(n, c, hw, ch, x, (float)mean, (float)(g * invstd),
                          beta[ch], relu, y);
        save_mean[ch] = (float)mean;
        save_invstd[ch] = (float)invstd;
        /* a single value has no unbiased variance: keep the biased one (0) */
        double unbiased = count > 1 ? var * count / (count - 1) : var;
        running_mean[ch] = (float)(momentum * running_mean[ch] + (1.0 - momentum) * mean);
        running_var[ch] = (float)(momentum * running_var[ch] + (1.0 - momentum) * unbiased);
    }
}

void cnn_batchnorm_forward_infer(int n, int c, int hw, const float *x,
                                 const float *gamma, const float *beta,
                                 const float *running_mean,
                                 const float *running_var, float eps, int relu,
                                 float *y)
{
    assert(n > 0 && c > 0 && hw > 0 && x && beta && y);
    assert(running_mean && running_var);
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double invstd = 1.0 / sqrt((double)running_var[ch] + eps);
        double g = gamma ? gamma[ch] : 1.0;
        channel_normalize(n, c, hw, ch, x, running_mean[ch], (float)(g * invstd),
                          beta[ch], relu, y);
    }
}

/* With xhat = (x - mean) * invstd and m = n*hw values per channel:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat),
 *   dx = gamma * invstd * (dy - dbeta/m - xhat * dgamma/m). */
void cnn_batchnorm_backward_train(int n, int c, int hw, const float *x,
                                  const float *gamma, const float *save_mean,
                                  const float *save_invstd, const float *dy,
                                  float *dx, float *dgamma, float *dbeta)
{
    assert(n > 0 && c > 0 && hw > 0 && x && dy && save_mean && save_invstd);
    const double count = (double)n * hw;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double sum_dy, sum_dy_xc;
        float mean = save_mean[ch];
        double invstd = save_invstd[ch];
        channel_grad_sums(n, c, hw, ch, x, dy, mean, &sum_dy, &sum_dy_xc);
        double sum_dy_xhat = sum_dy_xc * invstd;
        if (dbeta)
            dbeta[ch] += (float)sum_dy;
        if (gamma && dgamma)
            dgamma[ch] += (float)sum_dy_xhat;
        if (!dx)
            continue;
        double g = gamma ? gamma[ch] : 1.0;
        /* dx = a * dy + b * x + d, folded per channel */
        double a = g * invstd;
        double b = -a * invstd * sum_dy_xhat / count;
        double d = -a * sum_dy / count - b * mean;
        for (int i = 0; i < n; i++) {
            size_t off = ((size_t)i * c + ch) * hw;
            for (int k = 0; k < hw; k++)
                dx[off + k] = (float)(a * dy[off + k] + b * x[off + k] + d);
        }
    }
}

void cnn_batchnorm_backward_infer(int n, int c, int hw, const float *x,
                                  const float *gamma,
                                  const float *running_mean,
                                  const float *running_var, float eps,
                                  const float *dy, float *dx, float *dgamma,
                                  float *dbeta)
{
    assert(n > 0 && c > 0 && hw > 0 && x && dy && running_mean && running_var);
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double invstd = 1.0 / sqrt((double)running_var[ch] + eps);
        if (dbeta || (gamma && dgamma)) {
            double sum_dy, sum_dy_xc;
            channel_grad_sums(n, c, hw, ch, x, dy, running_mean[ch], &sum_dy,
                              &sum_dy_xc);
            if (dbeta)
                dbeta[ch] += (float)sum_dy;
            if (gamma && dgamma)
                dgamma[ch] += (float)(sum_dy_xc * invstd);
        }
        if (!dx)
            continue;
        float scale = (float)((gamma ? gamma[ch] : 1.0) * invstd);
        for (int i = 0; i < n; i++) {
            size_t off = ((size_t)i * c + ch) * hw;
            for (int k = 0; k < hw; k++)
                dx[off + k] = dy[off + k] * scale;
        }
    }
}
