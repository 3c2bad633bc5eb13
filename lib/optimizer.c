/* optimizer.c - parameter updates with PyTorch's semantics (torch.optim.SGD,
 * Adam and AdamW), elementwise over param, grad and state [count].
 * Arithmetic is in float as in PyTorch, except the bias corrections. */
#include <assert.h>
#include <math.h>

#include "cnn.h"

/* Below this many floats a parallel region costs more than it saves. */
#define PARALLEL_MIN_COUNT 65536

void cnn_sgd_update(size_t count, float *param, const float *grad,
                    float *velocity, float lr, float momentum,
                    float weight_decay)
{
    assert(param && grad && (velocity || momentum == 0.0f));
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_COUNT)
    for (size_t i = 0; i < count; i++) {
        float g = grad[i] + weight_decay * param[i];
        if (momentum != 0.0f) {
            /* a zero velocity makes the first step PyTorch's buf = g */
            velocity[i] = momentum * velocity[i] + g;
            g = velocity[i];
        }
        param[i] -= lr * g;
    }
}

void cnn_adam_update(size_t count, float *param, const float *grad, float *m,
                     float *v, long step, float lr, float beta1, float beta2,
                     float eps, float weight_decay, int decoupled)
{
    assert(param && grad && m && v && step >= 1);
    const double correction1 = 1.0 - pow(beta1, (double)step);
    const double correction2 = 1.0 - pow(beta2, (double)step);
    const float step_size = (float)(lr / correction1);
    const float sqrt_correction2 = (float)sqrt(correction2);
    const float decay = decoupled ? 1.0f - lr * weight_decay : 1.0f;
    const float l2 = decoupled ? 0.0f : weight_decay;
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_COUNT)
    for (size_t i = 0; i < count; i++) {
        float g = grad[i] + l2 * param[i];
        param[i] *= decay;
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        float denom = sqrtf(v[i]) / sqrt_correction2 + eps;
        param[i] -= step_size * m[i] / denom;
    }
}
