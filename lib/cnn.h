/* cnn.h - the public header of libcnn, a small CNN library on OpenBLAS.
 *
 * Conventions used by every op:
 *   - Activations are float32, NCHW, contiguous: x[((n*C + c)*H + h)*W + w].
 *   - Convolution weights are [out_c][in_c][kh][kw] (PyTorch order, ready for
 *     sgemm); dense weights are [out][in].
 *   - Forward functions overwrite their outputs. Backward functions
 *     OVERWRITE input gradients (dx) and ACCUMULATE parameter gradients
 *     (dweight += ...), so a parameter shared or split across calls just
 *     works and zeroing parameter gradients is one memset per step.
 *   - A NULL gradient pointer means "not needed": the work is skipped.
 *   - Functions that can fail because of their input return cnn_status and
 *     describe the problem in a cnn_error (which may be NULL). Programmer
 *     errors (NULL buffers, negative sizes) are caught with assert().
 *
 * The per-concept headers below hold the rest of the library (network graph,
 * models, weight files, images); include only this one.
 */
#ifndef CNN_H
#define CNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

typedef enum {
    CNN_OK = 0,
    CNN_ERR_NOMEM,       /* allocation failed */
    CNN_ERR_IO,          /* open/read/write/mmap failed */
    CNN_ERR_FORMAT,      /* malformed file or data */
    CNN_ERR_SHAPE,       /* shapes do not fit together */
    CNN_ERR_ARG,         /* bad argument value (e.g. from a command line) */
    CNN_ERR_UNSUPPORTED, /* well-formed but not something we handle */
    CNN_ERR_TOO_LARGE    /* over a configured size limit */
} cnn_status;

typedef struct {
    cnn_status code;
    char message[512];
} cnn_error;

/* Records code and a printf-style message in err (if not NULL); returns code
 * so that callers can write `return cnn_fail(err, CNN_ERR_IO, "...", ...);`. */
cnn_status cnn_fail(cnn_error *err, cnn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *cnn_status_name(cnn_status code);

/* ---------------------------------------------------------------- threads */

/* Sets the threads used by OpenBLAS and by the library's own loops.
 * n <= 0 means: $CNN_THREADS if set, else all online cores. */
void cnn_set_threads(int n);
int cnn_get_threads(void);

/* ---------------------------------------------------------------- random */

/* A small, seedable generator (xoshiro256**), one per user: no global state. */
typedef struct {
    uint64_t s[4];
} cnn_rng;

void cnn_rng_seed(cnn_rng *rng, uint64_t seed);
uint64_t cnn_rng_next(cnn_rng *rng);
float cnn_rng_uniform(cnn_rng *rng);  /* [0, 1) */
float cnn_rng_normal(cnn_rng *rng);   /* mean 0, sd 1 */

/* ---------------------------------------------------------------- padding */

typedef enum { CNN_PAD_VALID, CNN_PAD_SAME } cnn_padding;

/* Geometry of a sliding window (convolution or pooling) along one axis,
 * TensorFlow rules: 'valid' out = (in - k) / s + 1; 'same' out = ceil(in / s)
 * with total padding max((out-1)*s + k - in, 0), the odd pixel at the end. */
cnn_status cnn_window_1d(int in, int k, int stride, cnn_padding pad, int *out,
                         int *pad_begin, cnn_error *err);

/* ---------------------------------------------------------------- conv2d */

typedef struct {
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int kh, kw, stride_h, stride_w;
    int pad_top, pad_left; /* bottom/right padding follows from the sizes */
} cnn_conv_shape;

cnn_status cnn_conv_shape_init(cnn_conv_shape *s, int in_c, int in_h, int in_w,
                               int out_c, int kh, int kw, int stride_h,
                               int stride_w, cnn_padding pad, cnn_error *err);

/* Floats of scratch memory the conv needs (im2col buffer, or the staging
 * matrix of small images grouped per sgemm); where sgemm reads the input
 * directly (1x1 stride 1 on images that are not grouped), the backward's
 * per-thread weight gradients, and the forward needs none. */
size_t cnn_conv_workspace_floats(const cnn_conv_shape *s);

/* x [n, in_c, in_h, in_w], weight [out_c, in_c, kh, kw], bias [out_c] or NULL
 * -> y [n, out_c, out_h, out_w]. */
void cnn_conv2d_forward(const cnn_conv_shape *s, int n, const float *x,
                        const float *weight, const float *bias, float *y,
                        float *workspace);

/* dy [n, out_c, out_h, out_w] -> dx (overwritten), dweight, dbias
 * (accumulated); any of the three may be NULL. */
void cnn_conv2d_backward(const cnn_conv_shape *s, int n, const float *x,
                         const float *weight, const float *dy, float *dx,
                         float *dweight, float *dbias, float *workspace);

/* ---------------------------------------------------------------- dense */

/* x [n, in], weight [out, in], bias [out] or NULL -> y [n, out]. */
void cnn_dense_forward(int n, int in, int out, const float *x,
                       const float *weight, const float *bias, float *y);
void cnn_dense_backward(int n, int in, int out, const float *x,
                        const float *weight, const float *dy, float *dx,
                        float *dweight, float *dbias);

/* ---------------------------------------------------------------- batch norm */

/* Per-channel normalization over n, h, w. gamma may be NULL (scale=False,
 * as in Keras' InceptionV3): then it is 1 and no dgamma is produced.
 * Training mode normalizes with the batch's biased variance, saves the batch
 * mean and 1/sqrt(var+eps) for backward, and updates the running statistics
 * Keras-style: running = momentum*running + (1-momentum)*batch, with the
 * unbiased variance. relu: a ReLU follows in the same pass, y = max(y, 0)
 * (its backward stays cnn_relu_backward's). */
void cnn_batchnorm_forward_train(int n, int c, int hw, const float *x,
                                 const float *gamma, const float *beta,
                                 float *running_mean, float *running_var,
                                 float momentum, float eps, int relu,
                                 float *y, float *save_mean, float *save_invstd);
void cnn_batchnorm_forward_infer(int n, int c, int hw, const float *x,
                                 const float *gamma, const float *beta,
                                 const float *running_mean,
                                 const float *running_var, float eps, int relu,
                                 float *y);
/* Backward of the training-mode forward. */
void cnn_batchnorm_backward_train(int n, int c, int hw, const float *x,
                                  const float *gamma, const float *save_mean,
                                  const float *save_invstd, const float *dy,
                                  float *dx, float *dgamma, float *dbeta);
/* Backward of the inference-mode forward (statistics are constants). */
void cnn_batchnorm_backward_infer(int n, int c, int hw, const float *x,
                                  const float *gamma,
                                  const float *running_mean,
                                  const float *running_var, float eps,
                                  const float *dy, float *dx, float *dgamma,
                                  float *dbeta);

/* ---------------------------------------------------------------- activations */

/* Elementwise over count floats; y may equal x (in place). */
void cnn_relu_forward(size_t count, const float *x, float *y);
/* Uses the forward OUTPUT y; dx may equal dy. */
void cnn_relu_backward(size_t count, const float *y, const float *dy, float *dx);
void cnn_sigmoid_forward(size_t count, const float *x, float *y);
void cnn_sigmoid_backward(size_t count, const float *y, const float *dy,
                          float *dx);
/* Softmax over the last axis of [n, classes]; uses the forward output y. */
void cnn_softmax_forward(int n, int classes, const float *x, float *y);
void cnn_softmax_backward(int n, int classes, const float *y, const float *dy,
                          float *dx);

/* ---------------------------------------------------------------- pooling */

typedef struct {
    int c, in_h, in_w, out_h, out_w;
    int kh, kw, stride_h, stride_w;
    int pad_top, pad_left;
} cnn_pool_shape;

cnn_status cnn_pool_shape_init(cnn_pool_shape *s, int c, int in_h, int in_w,
                               int kh, int kw, int stride_h, int stride_w,
                               cnn_padding pad, cnn_error *err);

/* argmax [n, c, out_h, out_w] records the winning input index (within the
 * image plane) for backward, or is NULL (inference); padding never wins. */
void cnn_maxpool_forward(const cnn_pool_shape *s, int n, const float *x,
                         float *y, int32_t *argmax);
void cnn_maxpool_backward(const cnn_pool_shape *s, int n, const float *dy,
                          const int32_t *argmax, float *dx);
/* The divisor counts only real (unpadded) pixels, as TensorFlow does. */
void cnn_avgpool_forward(const cnn_pool_shape *s, int n, const float *x,
                         float *y);
void cnn_avgpool_backward(const cnn_pool_shape *s, int n, const float *dy,
                          float *dx);
/* x [n, c, hw] -> y [n, c]. */
void cnn_global_avgpool_forward(int n, int c, int hw, const float *x, float *y);
void cnn_global_avgpool_backward(int n, int c, int hw, const float *dy,
                                 float *dx);

/* ---------------------------------------------------------------- concat */

/* Concatenates parts[i] [n, channels[i], hw] along channels into
 * y [n, sum(channels), hw]. Backward splits dy back: dparts[i] is
 * overwritten; a NULL dparts[i] is skipped. */
void cnn_concat_forward(int n, int hw, int parts, const int *channels,
                        const float *const *x, float *y);
void cnn_concat_backward(int n, int hw, int parts, const int *channels,
                         const float *dy, float *const *dx);

/* ---------------------------------------------------------------- dropout */

/* Inverted dropout: keeps each value with probability 1-rate and scales it
 * by 1/(1-rate); mask [count] records the kept ones. rate 0 copies. */
void cnn_dropout_forward(size_t count, float rate, cnn_rng *rng,
                         const float *x, float *y, uint8_t *mask);
void cnn_dropout_backward(size_t count, float rate, const uint8_t *mask,
                          const float *dy, float *dx);

/* ---------------------------------------------------------------- losses */

/* Mean over n of the binary cross-entropy of sigmoid(logits[i]) against
 * targets[i] in {0,1}, each sample weighted by class_weight[target] (NULL: 1).
 * Computed stably from the logits. dlogits (may be NULL) receives the
 * gradient of the returned mean loss. */
float cnn_bce_logits(int n, const float *logits, const float *targets,
                     const float *class_weight, float *dlogits);
/* Mean softmax cross-entropy of logits [n, classes] against integer labels,
 * weighted by class_weight[label] (NULL: 1); dlogits as above. */
float cnn_softmax_cross_entropy(int n, int classes, const float *logits,
                                const int *labels, const float *class_weight,
                                float *dlogits);

/* ---------------------------------------------------------------- optimizers */

/* SGD with momentum and L2 weight decay (PyTorch semantics):
 *   g = grad + wd*param; v = momentum*v + g; param -= lr*v. */
void cnn_sgd_update(size_t count, float *param, const float *grad,
                    float *velocity, float lr, float momentum,
                    float weight_decay);
/* Adam (decoupled = 0: weight decay added to the gradient) and AdamW
 * (decoupled = 1: param -= lr*wd*param). step counts from 1. */
void cnn_adam_update(size_t count, float *param, const float *grad, float *m,
                     float *v, long step, float lr, float beta1, float beta2,
                     float eps, float weight_decay, int decoupled);

#ifdef __cplusplus
}
#endif

#endif /* CNN_H */
