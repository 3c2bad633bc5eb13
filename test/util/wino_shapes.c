/* wino_shapes.c - see wino_shapes.h. */
#include "wino_shapes.h"

#include <check.h>
#include <string.h>

#include "network_internal.h"
#include "winograd.h"

int wino_network_shapes(cnn_conv_shape *out, const char **where, int max)
{
    int count = 0;
    for (int model = 0; model < 2; model++) {
        cnn_net *net = NULL;
        cnn_head_spec head = {.kind = CNN_HEAD_NONE};
        ck_assert_int_eq(model ? cnn_inception_v3_build(&net, &head, NULL)
                               : cnn_vgg16_build(&net, &head, NULL),
                         CNN_OK);
        const int size = model ? 299 : 224;
        ck_assert_int_eq(cnn_net_plan(net, 1, size, size, 0, NULL), CNN_OK);
        for (int i = 0; i < net->nlayers; i++) {
            const net_layer *l = &net->layers[i];
            if (l->kind != LAYER_CONV || !cnn_wino_applicable(&l->conv))
                continue;
            int seen = 0;
            for (int j = 0; j < count; j++)
                seen |= memcmp(&out[j], &l->conv, sizeof l->conv) == 0;
            if (seen)
                continue;
            ck_assert_int_lt(count, max);
            where[count] = model ? "inception_v3" : "vgg16";
            out[count++] = l->conv;
        }
        cnn_net_free(net);
    }
    return count;
}
