/* winograd_kinds.c - the table behind winograd_kinds.h. */
#include "winograd_kinds.h"

#include "winograd.h"
#include "winograd_5x5.h"
#include "winograd_large.h"
#include "winograd_line.h"

/* The 3x3 kind's filter without a per-channel scale (the network applies
 * a batch norm in the output stage instead). */
static void filter_3x3(const cnn_conv_shape *s, const float *weight, float *U)
{
    cnn_wino_filter(s, weight, NULL, U);
}

static const wino_ops OPS_3X3 = {
    cnn_wino_filter_floats, cnn_wino_workspace_floats,
    cnn_wino_backward_workspace_floats, filter_3x3,
    cnn_wino_forward_bn, cnn_wino_backward,
};

static const wino_ops OPS_LINE = {
    cnn_wino_line_filter_floats, cnn_wino_line_workspace_floats,
    cnn_wino_line_backward_workspace_floats, cnn_wino_line_filter,
    cnn_wino_line_forward_bn, cnn_wino_line_backward,
};

static const wino_ops OPS_LARGE = {
    cnn_wino_large_filter_floats, cnn_wino_large_workspace_floats,
    cnn_wino_large_backward_workspace_floats, cnn_wino_large_filter,
    cnn_wino_large_forward_bn, cnn_wino_large_backward,
};

static const wino_ops OPS_5X5 = {
    cnn_wino_5x5_filter_floats, cnn_wino_5x5_workspace_floats,
    cnn_wino_5x5_backward_workspace_floats, cnn_wino_5x5_filter,
    cnn_wino_5x5_forward_bn, cnn_wino_5x5_backward,
};

const wino_ops *wino_ops_of(wino_kind kind)
{
    return kind == WINO_LINE    ? &OPS_LINE
           : kind == WINO_LARGE ? &OPS_LARGE
           : kind == WINO_5X5   ? &OPS_5X5
                                : &OPS_3X3;
}

int wino_kind_for(const cnn_conv_shape *s, int n, int trained, int all)
{
    if (!all && cnn_wino_large_preferred(s, n))
        return WINO_LARGE;
    if (all ? cnn_wino_5x5_applicable(s) : cnn_wino_5x5_preferred(s, n))
        return WINO_5X5;
    if (all ? cnn_wino_applicable(s) : cnn_wino_preferred(s, n, trained))
        return WINO_3X3;
    if (all ? cnn_wino_line_applicable(s) : cnn_wino_line_preferred(s, n, trained))
        return WINO_LINE;
    return 0;
}
