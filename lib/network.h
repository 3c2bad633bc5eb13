/* network.h - a graph of layers (with Inception-style branches), its
 * parameters, and memory planned once per (batch, input size).
 *
 * Layers run forward in the order they were added and backward in reverse.
 * A layer reads the outputs of earlier layers (by index), so branches and
 * concatenations are ordinary layers. Every layer and parameter carries its
 * Keras name ("mixed7", "conv2d_1/kernel", "batch_normalization_1/beta");
 * names are for finding things from outside: a layer knows its parameters
 * from the moment it is added, and the passes never look one up by name.
 *
 * Memory (llm.c style): parameters live in one block (or in place inside a
 * mapped weight file, see cnn_net_bind_param), gradients of the unfrozen
 * parameters in a second block, and everything a forward/backward pass needs
 * (activations, gradients of activations, pooling argmax, dropout masks,
 * batch-norm saves, the shared conv workspace) in one arena laid out by
 * cnn_net_plan from the lifetimes of the buffers: two buffers share memory
 * when their lifetimes do not overlap. Forward and backward allocate nothing.
 *
 * Lifetimes and what stays readable: after cnn_net_forward, the network
 * output and the layers marked with cnn_net_keep(CNN_KEEP_OUTPUT) hold valid
 * data; other layers' outputs may have been overwritten (in a training plan
 * most are kept because backward needs them, but do not rely on it). After
 * cnn_net_backward, the gradients of layers marked CNN_KEEP_GRAD are valid
 * until the next forward (their memory is reused by forward buffers).
 *
 * Inference plans (and frozen layers) run a batch norm that follows a
 * convolution, and a ReLU after it, in the convolution's output stage: the
 * Winograd output transform applies bias, (v - mean) * scale + beta and the
 * ReLU; after im2col + sgemm one pass does both. Stride-1 3x3 convolutions
 * run Winograd F(4x4, 3x3) where lib/winograd.c's rule picks it
 * ($CNN_WINOGRAD=0 turns it off, =all uses it wherever it applies); their
 * transformed filters live in the arena, remade for layers being trained
 * at every forward and otherwise when a checksum of the weights changes.
 * Convolutions with few taps (VGG16's first) run direct (conv_direct.h),
 * except under $CNN_WINOGRAD=0, which leaves every one on im2col.
 */
#ifndef CNN_NETWORK_H
#define CNN_NETWORK_H

#include "cnn.h"

typedef struct cnn_net cnn_net;

typedef enum {
    CNN_PARAM_WEIGHT,   /* optimized: kernels, biases, gamma, beta */
    CNN_PARAM_STATE     /* saved but not optimized: BN running mean/var */
} cnn_param_kind;

typedef struct {
    char name[96];
    cnn_param_kind kind;
    int ndim;
    int64_t shape[4];     /* our layout: conv [out,in,kh,kw], dense [out,in] */
    size_t count;
    float *data;          /* NULL until cnn_net_alloc_params/bind_param */
    float *grad;          /* NULL while frozen, for STATE, or before a
                             training plan */
    int frozen;
    int layer;            /* index of the owning layer */
} cnn_param;

/* ---------------------------------------------------------------- building */

typedef enum { CNN_ACT_NONE, CNN_ACT_RELU, CNN_ACT_SOFTMAX } cnn_act;
typedef enum { CNN_POOL_MAX, CNN_POOL_AVG } cnn_pool_kind;

/* The adders return the new layer's index. A failure (allocation, a
 * duplicate name, a bad input index) is remembered and returned by
 * cnn_net_build_status; later adders then do nothing and return -1. */
cnn_net *cnn_net_new(void);                          /* NULL: out of memory */
int cnn_net_add_input(cnn_net *net, const char *name, int channels);
/* x [n, c, h, w] -> [n, filters, oh, ow]; kernel [filters, c, kh, kw]
 * ("<name>/kernel"), bias [filters] ("<name>/bias") when use_bias. */
int cnn_net_add_conv(cnn_net *net, const char *name, int input, int filters,
                     int kh, int kw, int stride_h, int stride_w,
                     cnn_padding pad, int use_bias, cnn_act act);
/* Per-channel batch norm: "<name>/gamma" (only when scale), "/beta",
 * "/moving_mean", "/moving_variance" [c]. */
int cnn_net_add_batchnorm(cnn_net *net, const char *name, int input,
                          int scale, float eps, float momentum);
int cnn_net_add_activation(cnn_net *net, const char *name, int input,
                           cnn_act act);
int cnn_net_add_pool(cnn_net *net, const char *name, int input,
                     cnn_pool_kind kind, int kh, int kw, int stride_h,
                     int stride_w, cnn_padding pad);
/* [n, c, h, w] -> [n, c]. */
int cnn_net_add_global_avgpool(cnn_net *net, const char *name, int input);
/* Along channels; the parts must have the same height and width. */
int cnn_net_add_concat(cnn_net *net, const char *name, int count,
                       const int *inputs);
/* [n, c, h, w] -> [n, h*w*c] in Keras (channels-last) order, so that dense
 * weights converted from Keras apply unchanged. */
int cnn_net_add_flatten(cnn_net *net, const char *name, int input);
/* [n, in_features] -> [n, units]: "<name>/kernel" [units, in_features],
 * "<name>/bias" [units]. The input must have in_features values per image
 * (checked by cnn_net_plan). */
int cnn_net_add_dense(cnn_net *net, const char *name, int input,
                      int in_features, int units, int use_bias, cnn_act act);
int cnn_net_add_dropout(cnn_net *net, const char *name, int input,
                        float rate);
/* Drops every layer (and its parameters) after layer `last`. */
void cnn_net_truncate(cnn_net *net, int last);
cnn_status cnn_net_build_status(const cnn_net *net, cnn_error *err);

/* ---------------------------------------------------------------- parameters */

/* Allocates one block for every parameter that has no data yet (zeroed). */
cnn_status cnn_net_alloc_params(cnn_net *net, cnn_error *err);
/* Points a parameter at external memory (e.g. a read-only file mapping that
 * outlives the net). Such a parameter must not be trained. */
void cnn_net_bind_param(cnn_param *p, float *data);
/* Moves every parameter into one owned block (copying bound ones), e.g.
 * before training a model whose weights were used from a mapped file. */
cnn_status cnn_net_own_params(cnn_net *net, cnn_error *err);
/* He-normal kernels (sd sqrt(2 / fan_in)), zero biases and beta, gamma 1,
 * moving mean 0, moving variance 1. Needs allocated params. */
void cnn_net_init_he(cnn_net *net, uint64_t seed);

int cnn_net_param_count(const cnn_net *net);
cnn_param *cnn_net_param(cnn_net *net, int i);
cnn_param *cnn_net_find_param(cnn_net *net, const char *name);
/* Total elements of all parameters (weights and state). */
size_t cnn_net_total_params(const cnn_net *net);

int cnn_net_layer_count(const cnn_net *net);
const char *cnn_net_layer_name(const cnn_net *net, int i);
int cnn_net_find_layer(const cnn_net *net, const char *name); /* -1: none */
/* Channels of layer i's output, known from building (-1 for flatten). */
int cnn_net_layer_channels(const cnn_net *net, int i);
int cnn_net_layer_is_pool(const cnn_net *net, int i);   /* max or average */
/* Index of the layer that layer i reads as its input k (-1: none). */
int cnn_net_layer_input(const cnn_net *net, int i, int k);

/* ---------------------------------------------------------------- training set-up */

/* Freezes every layer up to and including `layer` (NULL: unfreeze all):
 * frozen layers get no gradient buffers, do no weight-gradient work and their
 * batch norm uses running statistics even in training mode. Backward stops
 * where no gradient is needed any more (at the first frozen layer, unless a
 * CNN_KEEP_GRAD layer lies further back). Takes effect at the next plan. */
cnn_status cnn_net_freeze_until(cnn_net *net, const char *layer, cnn_error *err);
/* Index of the last frozen layer, -1 when none is. */
int cnn_net_frozen_until(const cnn_net *net);

enum { CNN_KEEP_OUTPUT = 1, CNN_KEEP_GRAD = 2 };
/* Marks a layer so that its output (after forward) and/or the gradient of
 * the loss with respect to its output (after backward, e.g. for Grad-CAM of
 * "mixed10") stay readable; what = 0 clears the marks. The gradient is
 * computed even through frozen layers' consumers (no weight gradients are
 * computed for them). Takes effect at the next plan. */
cnn_status cnn_net_keep(cnn_net *net, const char *layer, int what,
                        cnn_error *err);
/* A layer's CNN_KEEP_* marks (-1: no such layer). */
int cnn_net_keep_marks(const cnn_net *net, const char *layer);

/* Lays out buffers for this batch and input size; training = 1 also plans
 * backward (gradient block for the unfrozen parameters included). Does
 * nothing when nothing changed since the last plan. Fails with
 * CNN_ERR_SHAPE if the input is too small for the architecture. */
cnn_status cnn_net_plan(cnn_net *net, int batch, int height, int width,
                        int training, cnn_error *err);
/* Bytes of the planned arena (activations, their gradients, workspace). */
size_t cnn_net_arena_bytes(const cnn_net *net);

/* Batch norm of unfrozen layers in training-mode passes: 0 (the default)
 * normalises with the batch's statistics and updates the running ones;
 * 1 keeps normalising with the running statistics, which stay put, while
 * gamma and beta still learn. 1 is Keras' advice for fine-tuning a
 * pretrained base: the head then sees the features it was trained on, and
 * small batches do not drag the statistics around. */
void cnn_net_set_batchnorm_running_stats(cnn_net *net, int use_running);

/* ---------------------------------------------------------------- running */

/* The input buffer [batch, c, height, width] to fill before forward. */
float *cnn_net_input(cnn_net *net);
/* training: batch statistics in unfrozen BN, dropout active (needs a
 * training plan). */
void cnn_net_forward(cnn_net *net, int training);
/* The last layer's output [batch, *per_image]. */
const float *cnn_net_output(const cnn_net *net, int *per_image);
/* A layer's output [batch, c, h, w] (NULL: no such layer or not planned;
 * valid after forward only for kept layers, see above). c, h, w may be NULL.
 * Layers with flat outputs report h = w = 1. */
const float *cnn_net_layer_output(const cnn_net *net, const char *layer,
                                  int *c, int *h, int *w);
/* The gradient w.r.t. a CNN_KEEP_GRAD layer's output after backward, same
 * shape as the output (NULL: not kept). */
const float *cnn_net_layer_grad(const cnn_net *net, const char *layer);

/* Backward from d(loss)/d(output) [batch, per_image] of the last forward
 * (needs a training plan; the forward may have been in inference mode).
 * Accumulates into the unfrozen parameters' grad. */
void cnn_net_backward(cnn_net *net, const float *doutput);
/* Gradient w.r.t. the network input (NULL unless the input layer is marked
 * CNN_KEEP_GRAD). */
const float *cnn_net_input_grad(const cnn_net *net);
void cnn_net_zero_grad(cnn_net *net);
/* Seeds the generator used by dropout. */
void cnn_net_seed(cnn_net *net, uint64_t seed);
/* Data-parallel training: this net's batch is images [first, first + batch)
 * of a global batch of `total` split over processes. Dropout then draws the
 * masks of the whole global batch and keeps its share's, so that every
 * image gets the mask it gets in one process (the same seed on every
 * process). total = 0: the batch is the whole batch (the default). */
void cnn_net_set_batch_share(cnn_net *net, int first, int total);

/* ---------------------------------------------------------------- saliency */

/* What a saliency pass found for one image. */
typedef struct {
    float output;   /* the network's first output value (e.g. a logit) */
    int c, h, w;    /* the layer's output shape per image */
    float *act;     /* the layer's output [c][h][w] */
    float *grad;    /* d output / d act, same shape */
} cnn_saliency;

/* For saliency maps such as Grad-CAM (heatmap.h): runs one image
 * input [channels][height][width] forward in inference mode and backward
 * from the first output value down to `layer` and no further (the layers
 * up to it are frozen meanwhile, so the backbone costs no backward work),
 * and copies the layer's output and gradient into *out (malloc'd; free with
 * cnn_saliency_free). The training set-up is left as it was - frozen
 * layers and keep marks - and the next cnn_net_plan replans accordingly;
 * parameter gradients are zero afterwards. Until then the outputs of layers
 * marked CNN_KEEP_OUTPUT hold this image's values, as after a forward. */
cnn_status cnn_net_saliency(cnn_net *net, const char *layer,
                            const float *input, int height, int width,
                            cnn_saliency *out, cnn_error *err);
void cnn_saliency_free(cnn_saliency *s);

void cnn_net_free(cnn_net *net);

/* ---------------------------------------------------------------- architectures */

typedef enum {
    CNN_HEAD_NONE,    /* backbone only (include_top=False, no pooling) */
    CNN_HEAD_BINARY,  /* GAP -> dense(hidden, relu) -> dropout -> dense(1) */
    CNN_HEAD_NSFWJS   /* upstream nsfwjs: avgpool 8x8 -> flatten -> dense 256
                         relu -> dense 128 relu -> dense 5 softmax */
} cnn_head_kind;

typedef struct {
    cnn_head_kind kind;
    const char *attach; /* backbone layer the head reads; NULL: the last
                           (mixed10 / block5_pool). The backbone is built up
                           to this layer only. */
    int hidden;         /* BINARY: hidden units (0: no hidden layer) */
    float dropout;      /* BINARY: dropout rate */
} cnn_head_spec;

/* Keras applications InceptionV3 / VGG16 (names, order, shapes), with the
 * head. Head layers: "global_average_pooling2d_1", "dense_1" (hidden),
 * "dropout_1", "dense_2" (logit; "dense_1" when hidden = 0). NSFWJS head:
 * "average_pooling2d_10", "flatten_1", "dense_1", "dense_2", "dense_3".
 * Parameters are not allocated (see cnn_net_alloc_params). */
cnn_status cnn_inception_v3_build(cnn_net **out, const cnn_head_spec *head,
                                  cnn_error *err);
cnn_status cnn_vgg16_build(cnn_net **out, const cnn_head_spec *head,
                           cnn_error *err);

#endif
