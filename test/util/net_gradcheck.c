/* net_gradcheck.c - see net_gradcheck.h. */
#include "net_gradcheck.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "network_internal.h"

typedef struct {
    cnn_net *net;
    const float *r;
    size_t count;
} net_ctx;

static double net_loss(void *ctx)
{
    net_ctx *c = ctx;
    cnn_net_forward(c->net, 1);
    return dot_double(cnn_net_output(c->net, NULL), c->r, c->count);
}

void net_gradcheck(cnn_net *net, int n, double step)
{
    int per;
    cnn_net_output(net, &per);
    const size_t count = (size_t)per * n, nx = net->layers[0].out_floats;
    float *r = malloc(count * sizeof *r), *dx = malloc(nx * sizeof *dx);
    ck_assert(r && dx);
    fill_uniform(r, count, -1, 1, 5);
    fill_uniform(cnn_net_input(net), nx, -1, 1, 3);
    net_ctx c = {net, r, count};
    cnn_net_zero_grad(net);
    net_loss(&c);
    cnn_net_backward(net, r);
    memcpy(dx, cnn_net_input_grad(net), nx * sizeof *dx);
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        gradcheck(p->name, net_loss, &c, p->data, p->grad, p->count, 30, step,
                  1e-3, 1e-3);
    }
    gradcheck("input", net_loss, &c, cnn_net_input(net), dx, nx, 60, step,
              1e-3, 1e-3);
    free(r);
    free(dx);
}
