/* network_saliency.c - one image forward and backward to a named layer, for
 * saliency maps (network.h). Written on the public set-up functions: what it
 * changes (the frozen layers, the layer's keep marks) it reads first through
 * them and puts back through them. */
#include <stdlib.h>
#include <string.h>

#include "network.h"

/* Plans for one image with `layer` kept, runs both passes and copies out. */
static cnn_status run(cnn_net *net, const char *layer, const float *input,
                      int height, int width, cnn_saliency *out,
                      cnn_error *err)
{
    cnn_status st = cnn_net_freeze_until(net, layer, err);
    if (st == CNN_OK)
        st = cnn_net_keep(net, layer, CNN_KEEP_OUTPUT | CNN_KEEP_GRAD, err);
    if (st == CNN_OK)
        st = cnn_net_plan(net, 1, height, width, 1, err);
    if (st != CNN_OK)
        return st;
    int per_image;
    cnn_net_output(net, &per_image);
    cnn_net_layer_output(net, layer, &out->c, &out->h, &out->w);
    size_t count = (size_t)out->c * out->h * out->w;
    out->act = malloc(count * sizeof *out->act);
    out->grad = malloc(count * sizeof *out->grad);
    float *doutput = calloc((size_t)per_image, sizeof *doutput);
    if (!out->act || !out->grad || !doutput) {
        free(doutput);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a saliency map");
    }
    size_t in = (size_t)cnn_net_layer_channels(net, 0) * height * width;
    memcpy(cnn_net_input(net), input, in * sizeof *input);
    cnn_net_forward(net, 0);
    out->output = cnn_net_output(net, NULL)[0];
    doutput[0] = 1.0f;
    cnn_net_backward(net, doutput);
    free(doutput);
    memcpy(out->act, cnn_net_layer_output(net, layer, NULL, NULL, NULL),
           count * sizeof *out->act);
    memcpy(out->grad, cnn_net_layer_grad(net, layer), count * sizeof *out->grad);
    return CNN_OK;
}

cnn_status cnn_net_saliency(cnn_net *net, const char *layer,
                            const float *input, int height, int width,
                            cnn_saliency *out, cnn_error *err)
{
    memset(out, 0, sizeof *out);
    int was_kept = cnn_net_keep_marks(net, layer);
    if (was_kept < 0)
        return cnn_fail(err, CNN_ERR_ARG, "saliency: no layer named %s", layer);
    int was_frozen = cnn_net_frozen_until(net);
    cnn_status st = run(net, layer, input, height, width, out, err);
    /* cannot fail: both layers exist */
    cnn_net_freeze_until(net, was_frozen < 0 ? NULL
                                             : cnn_net_layer_name(net, was_frozen),
                         NULL);
    cnn_net_keep(net, layer, was_kept, NULL);
    cnn_net_zero_grad(net);
    if (st != CNN_OK)
        cnn_saliency_free(out);
    return st;
}

void cnn_saliency_free(cnn_saliency *s)
{
    free(s->act);
    free(s->grad);
    s->act = s->grad = NULL;
}
