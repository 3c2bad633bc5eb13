/* analysis.c - one X-ray through the model (see analysis.h). */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heatmap.h"

/* How strongly the hottest spots are tinted. */
#define OVERLAY_ALPHA 0.6f

/* Records a refusal by check c (nothing when c accepts); returns whether
 * the image was refused. */
static int refuse(analysis *out, cnn_gate_check c)
{
    if (c == CNN_GATE_ACCEPTED)
        return 0;
    out->check = c;
    out->reason = cnn_gate_reason(c);
    out->verdict = ANALYSIS_REFUSED_VERDICT;
    return 1;
}

/* The layout check on the model input [3][s][s], before the model runs. */
static cnn_status gate_layout(const cnn_input_gate *gate, const float *input,
                              int s, analysis *out, cnn_error *err)
{
    float thumb[CNN_GATE_THUMB_DIM];
    cnn_gate_thumbnail(input, s, thumb);
    out->polarity = cnn_gate_polarity(gate, thumb);
    if (refuse(out, out->polarity <= CNN_GATE_MIN_POLARITY ? CNN_GATE_POLARITY
                                                           : CNN_GATE_ACCEPTED))
        return CNN_OK;
    cnn_status st = cnn_mahalanobis_distance(&gate->layout, thumb,
                                             &out->layout_distance, err);
    if (st == CNN_OK)
        refuse(out, out->layout_distance > gate->layout_threshold
                        ? CNN_GATE_LAYOUT : CNN_GATE_ACCEPTED);
    return st;
}

/* The feature check on the pooled features of the pass that predicted. */
static cnn_status gate_features(cnn_model *m, const cnn_input_gate *gate,
                                analysis *out, cnn_error *err)
{
    cnn_status st = cnn_mahalanobis_distance(&gate->features, cnn_model_features(m),
                                             &out->features_distance, err);
    if (st == CNN_OK &&
        refuse(out, out->features_distance > gate->features_threshold
                        ? CNN_GATE_FEATURES : CNN_GATE_ACCEPTED)) {
        free(out->heat); /* no heat map for what the model cannot judge */
        out->heat = NULL;
    }
    return st;
}

cnn_status analysis_run(cnn_model *m, const cnn_image *img,
                        const char *header_refusal, int with_heat,
                        analysis *out, cnn_error *err)
{
    memset(out, 0, sizeof *out);
    const cnn_model_config *cfg = cnn_model_config_of(m);
    const cnn_input_gate *gate = cnn_model_gate(m);
    out->gate = gate ? ANALYSIS_GATE_LEARNED : ANALYSIS_GATE_IMAGE;
    out->layout_distance = out->features_distance = out->polarity = NAN;
    if (header_refusal && *header_refusal) {
        refuse(out, CNN_GATE_HEADER);
        out->reason = header_refusal;
        return CNN_OK;
    }
    cnn_image_measures measures;
    cnn_image_measure(img, &measures);
    if (refuse(out, cnn_image_checks(&measures)))
        return CNN_OK;
    int s = cfg->input_size;
    float *input = malloc((size_t)3 * s * s * sizeof *input); /* [3, s, s] */
    if (!input)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for the model input");
    cnn_status st = cnn_model_input(cfg, img, input, err);
    if (st == CNN_OK && gate)
        st = gate_layout(gate, input, s, out, err);
    if (st == CNN_OK && out->check == CNN_GATE_ACCEPTED) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (with_heat)
            st = cnn_model_gradcam(m, input, &out->probability, &out->heat,
                                   &out->heat_h, &out->heat_w, err);
        else
            st = cnn_model_predict(m, input, 1, &out->probability, err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        out->model_seconds = (double)(t1.tv_sec - t0.tv_sec) +
                             (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    }
    free(input);
    if (st == CNN_OK && gate && out->check == CNN_GATE_ACCEPTED)
        st = gate_features(m, gate, out, err);
    if (st != CNN_OK || out->check != CNN_GATE_ACCEPTED)
        return st;
    out->threshold = cfg->threshold;
    out->positive = out->probability >= cfg->threshold;
    out->verdict = cfg->class_names[out->positive];
    return CNN_OK;
}

void analysis_free(analysis *a)
{
    free(a->heat);
    a->heat = NULL;
}

cnn_status analysis_png(const analysis *a, const cnn_image *img, int max_side,
                        uint8_t **png, size_t *png_len, cnn_error *err)
{
    *png = NULL;
    *png_len = 0;
    cnn_image shown = {0};
    const cnn_image *src = img;
    int longer = img->width > img->height ? img->width : img->height;
    if (max_side > 0 && longer > max_side) {
        /* Keep the aspect ratio; at least one pixel per side. */
        int w = (int)((long)img->width * max_side / longer);
        int h = (int)((long)img->height * max_side / longer);
        cnn_status st = cnn_image_resize(img, w > 0 ? w : 1, h > 0 ? h : 1,
                                         &shown, err);
        if (st != CNN_OK)
            return st;
        src = &shown;
    }
    uint8_t *rgb = NULL;
    cnn_status st = a->heat ? cnn_heatmap_overlay(src, a->heat, a->heat_h,
                                                  a->heat_w, OVERLAY_ALPHA,
                                                  &rgb, err)
                            : cnn_image_to_rgb8(src, &rgb, err);
    if (st == CNN_OK)
        st = cnn_png_encode_rgb(rgb, src->width, src->height, png, png_len, err);
    free(rgb);
    cnn_image_free(&shown);
    return st;
}

cJSON *analysis_json(const analysis *a, const cnn_model_config *cfg,
                     const char *file)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *model = cJSON_CreateObject();
    int refused = a->check != CNN_GATE_ACCEPTED;
    int ok = o && model &&
             (!file || cJSON_AddStringToObject(o, "file", file)) &&
             cJSON_AddStringToObject(o, "verdict", a->verdict);
    if (ok && refused)
        ok = cJSON_AddStringToObject(o, "reason", a->reason) &&
             cJSON_AddStringToObject(o, "check", cnn_gate_check_name(a->check));
    else if (ok)
        ok = cJSON_AddNumberToObject(o, "probability", a->probability) &&
             cJSON_AddNumberToObject(o, "threshold", a->threshold);
    ok = ok && cJSON_AddStringToObject(o, "gate", a->gate) &&
         (isnan(a->polarity) ||
          cJSON_AddNumberToObject(o, "polarity", a->polarity)) &&
         (isnan(a->layout_distance) ||
          cJSON_AddNumberToObject(o, "layout_distance", a->layout_distance)) &&
         (isnan(a->features_distance) ||
          cJSON_AddNumberToObject(o, "features_distance", a->features_distance)) &&
             cJSON_AddStringToObject(model, "name", cfg->name) &&
             cJSON_AddStringToObject(model, "version", cfg->version) &&
             cJSON_AddStringToObject(model, "arch", cnn_arch_name(cfg->arch));
    if (ok) {
        ok = cJSON_AddItemToObject(o, "model", model);
        if (ok)
            model = NULL; /* owned by o now */
        ok = ok && cJSON_AddStringToObject(o, "notice", ANALYSIS_NOTICE);
    }
    if (!ok) {
        cJSON_Delete(model);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
