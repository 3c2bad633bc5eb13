/* network.h - a graph of layers (with Inception-style branches), its
 * parameters, and memory planned once per (batch, input size).
 *
 * Layers run forward in the order they were added and backward in reverse.
 * A layer reads the outputs of earlier layers (by index), so branches and
 * concatenations are ordinary layers. Every layer and parameter carries its
 * Keras name ("mixed7", "conv2d_1/kernel", "batch_normalization_1/beta").
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
    float *data;
    float *grad;          /* NULL while the owning layer is frozen */
    int frozen;
} cnn_param;

int cnn_net_param_count(const cnn_net *net);
cnn_param *cnn_net_param(cnn_net *net, int i);
cnn_param *cnn_net_find_param(cnn_net *net, const char *name);
/* Total elements of all parameters (weights and state). */
size_t cnn_net_total_params(const cnn_net *net);

int cnn_net_layer_count(const cnn_net *net);
const char *cnn_net_layer_name(const cnn_net *net, int i);
int cnn_net_find_layer(const cnn_net *net, const char *name); /* -1: none */

/* Freezes every layer up to and including `layer` (NULL: unfreeze all):
 * frozen layers get no gradient buffers, do no weight-gradient work and their
 * batch norm uses running statistics even in training mode. Call before
 * cnn_net_plan. */
cnn_status cnn_net_freeze_until(cnn_net *net, const char *layer, cnn_error *err);

/* Allocates activation/gradient/workspace buffers for this batch and input
 * size (reused until the next plan with different sizes). Fails with
 * CNN_ERR_SHAPE if the input is too small for the architecture. */
cnn_status cnn_net_plan(cnn_net *net, int batch, int height, int width,
                        int training, cnn_error *err);

/* The input buffer [batch, 3, height, width] to fill before forward. */
float *cnn_net_input(cnn_net *net);
/* training: batch statistics in unfrozen BN, dropout active. */
void cnn_net_forward(cnn_net *net, int training);
/* The last layer's output [batch, *per_image]. */
const float *cnn_net_output(const cnn_net *net, int *per_image);
/* A named layer's output [batch, c, h, w] after forward (NULL: no layer). */
const float *cnn_net_layer_output(const cnn_net *net, const char *layer,
                                  int *c, int *h, int *w);
/* A named layer's output gradient after backward (NULL: none kept). */
const float *cnn_net_layer_grad(const cnn_net *net, const char *layer);

/* Backward from d(loss)/d(output) [batch, per_image]; accumulates into the
 * unfrozen parameters' grad. Stops at the first frozen layer, unless
 * keep_grad_from names a layer whose output gradient is wanted (Grad-CAM). */
void cnn_net_backward(cnn_net *net, const float *doutput);
void cnn_net_zero_grad(cnn_net *net);

void cnn_net_free(cnn_net *net);

#endif
