/* export.c - re-saves a model overlay (or a self-contained model) elsewhere
 * with its base path made relative to the new file. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "model.h"
#include "paths.h"
#include "safetensors.h"

/* The layer after which the file's own tensors begin (they are what the
 * overlay holds); NULL when it holds the first layer's too. */
static cnn_status overlay_start(cnn_net *net, const char *path, const char **after,
                                cnn_error *err)
{
    cnn_st_file *f;
    cnn_status s = cnn_st_open(&f, path, err);
    if (s)
        return s;
    int first = cnn_net_layer_count(net);
    for (int i = 0; i < cnn_st_count(f); i++) {
        cnn_param *p = cnn_net_find_param(net, cnn_st_tensor_at(f, i)->name);
        if (p && p->layer < first)
            first = p->layer;
    }
    cnn_st_close(f);
    *after = first > 0 ? cnn_net_layer_name(net, first - 1) : NULL;
    return CNN_OK;
}

cnn_status export_loaded_model(cnn_model *m, const char *model_file,
                               const char *out, cnn_error *err)
{
    cnn_model_config *cfg = cnn_model_config_of(m);
    const char *after = NULL;
    cnn_status s = CNN_OK;
    if (cfg->base[0]) {
        char from[PATH_MAX], to[PATH_MAX], base[PATH_MAX];
        copy_text(from, sizeof from, model_file);
        copy_text(to, sizeof to, out);
        /* the base as the old file saw it, then as the new one will */
        int n = snprintf(base, sizeof base, "%s/%s", dirname(from), cfg->base);
        if (n < 0 || (size_t)n >= sizeof base)
            s = cnn_fail(err, CNN_ERR_ARG, "path too long: %s", cfg->base);
        if (!s) {
            if (path_relative(dirname(to), base, cfg->base, sizeof cfg->base))
                s = cnn_fail(err, CNN_ERR_ARG, "the backbone's path from %s is "
                             "too long", out);
            else
                s = overlay_start(cnn_model_net(m), model_file, &after, err);
        }
    }
    if (!s)
        s = cnn_model_save(m, out, after, err);
    if (!s)
        printf("wrote %s\n", out);
    if (!s && after)
        printf("  an overlay of the layers after %s on %s\n", after, cfg->base);
    return s;
}

cnn_status export_model(const char *model_file, const char *out,
                        const char *version, cnn_error *err)
{
    cnn_model *m;
    cnn_status s = cnn_model_load(&m, model_file, err);
    if (s)
        return s;
    cnn_model_config *cfg = cnn_model_config_of(m);
    if (version[0])
        copy_text(cfg->version, sizeof cfg->version, version);
    s = export_loaded_model(m, model_file, out, err);
    cnn_model_free(m);
    return s;
}
