/* evaluate_report.c - writes the evaluation report files for one set of
 * predictions (used by `trainer evaluate` and at the end of training). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "evaluate.h"
#include "metrics.h"

static FILE *open_out(const char *dir, const char *prefix, const char *name,
                      const char *ext, char *path, size_t size, cnn_error *err)
{
    snprintf(path, size, "%s/%s_%s.%s", dir, prefix, name, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    return f;
}

static cnn_status close_out(FILE *f, const char *path, cnn_error *err)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    return bad ? cnn_fail(err, CNN_ERR_IO, "error writing %s", path) : CNN_OK;
}

static void print_text(FILE *f, const char *name, const char *about,
                       const metrics_report *r, size_t n)
{
    fprintf(f, "Evaluation on '%s' (%zu images)\n", name, n);
    fprintf(f, "model: %s\n", about);
    fprintf(f, "decision threshold (stored in the model): %.6f\n\n", r->threshold);
    fprintf(f, "  accuracy     %.4f\n", r->accuracy);
    fprintf(f, "  sensitivity  %.4f  (PNEUMONIA recall)\n", r->sensitivity);
    fprintf(f, "  specificity  %.4f  (NORMAL recall)\n", r->specificity);
    fprintf(f, "  precision    %.4f\n", r->precision);
    fprintf(f, "  F1           %.4f\n", r->f1);
    fprintf(f, "  ROC AUC      %.4f\n\n", r->auc);
    fprintf(f, "  confusion matrix   predicted NORMAL  predicted PNEUMONIA\n");
    fprintf(f, "  actual NORMAL      %16ld  %19ld\n", r->cm.tn, r->cm.fp);
    fprintf(f, "  actual PNEUMONIA   %16ld  %19ld\n", r->cm.fn, r->cm.tp);
}

static cnn_status write_json(const char *dir, const char *name, const char *about,
                             const metrics_report *r, size_t n, cnn_error *err)
{
    char path[1024];
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(j, "split", name);
    cJSON_AddStringToObject(j, "model", about);
    cJSON_AddNumberToObject(j, "images", (double)n);
    cJSON_AddNumberToObject(j, "threshold", r->threshold);
    cJSON_AddNumberToObject(j, "accuracy", r->accuracy);
    cJSON_AddNumberToObject(j, "sensitivity", r->sensitivity);
    cJSON_AddNumberToObject(j, "specificity", r->specificity);
    cJSON_AddNumberToObject(j, "precision", r->precision);
    cJSON_AddNumberToObject(j, "f1", r->f1);
    if (isnan(r->auc))
        cJSON_AddNullToObject(j, "auc");
    else
        cJSON_AddNumberToObject(j, "auc", r->auc);
    cJSON_AddNumberToObject(j, "tp", (double)r->cm.tp);
    cJSON_AddNumberToObject(j, "fp", (double)r->cm.fp);
    cJSON_AddNumberToObject(j, "tn", (double)r->cm.tn);
    cJSON_AddNumberToObject(j, "fn", (double)r->cm.fn);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    FILE *f = open_out(dir, "eval", name, "json", path, sizeof path, err);
    cnn_status s = CNN_ERR_IO;
    if (f) {
        fprintf(f, "%s\n", text);
        s = close_out(f, path, err);
    }
    free(text);
    return s;
}

cnn_status evaluate_write_report(const char *out_dir, const char *name,
                                 const char *about, const char *const *paths,
                                 const int *labels, const float *prob, size_t n,
                                 double threshold, cnn_error *err)
{
    metrics_report r = metrics_compute(prob, labels, n, threshold);
    char path[1024];
    cnn_status s;

    print_text(stdout, name, about, &r, n);
    FILE *f = open_out(out_dir, "eval", name, "txt", path, sizeof path, err);
    if (!f)
        return CNN_ERR_IO;
    print_text(f, name, about, &r, n);
    if ((s = close_out(f, path, err)))
        return s;

    if (!(f = open_out(out_dir, "eval", name, "csv", path, sizeof path, err)))
        return CNN_ERR_IO;
    fprintf(f, "metric,value\nimages,%zu\nthreshold,%.6f\naccuracy,%.6f\n"
               "sensitivity,%.6f\nspecificity,%.6f\nprecision,%.6f\nf1,%.6f\n"
               "auc,%.6f\ntp,%ld\nfp,%ld\ntn,%ld\nfn,%ld\n",
            n, r.threshold, r.accuracy, r.sensitivity, r.specificity,
            r.precision, r.f1, r.auc, r.cm.tp, r.cm.fp, r.cm.tn, r.cm.fn);
    if ((s = close_out(f, path, err)))
        return s;

    if ((s = write_json(out_dir, name, about, &r, n, err)))
        return s;

    roc_point *pts = malloc((n + 1) * sizeof *pts);
    if (!pts)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    size_t k = metrics_roc(prob, labels, n, pts);
    if (!(f = open_out(out_dir, "roc", name, "csv", path, sizeof path, err))) {
        free(pts);
        return CNN_ERR_IO;
    }
    fprintf(f, "threshold,fpr,tpr\n");
    for (size_t i = 0; i < k; i++)
        fprintf(f, "%.8g,%.6f,%.6f\n", pts[i].threshold, pts[i].fpr, pts[i].tpr);
    free(pts);
    if ((s = close_out(f, path, err)))
        return s;

    /* rows: actual predicted count (0 NORMAL, 1 PNEUMONIA), for gnuplot */
    if (!(f = open_out(out_dir, "confusion", name, "dat", path, sizeof path, err)))
        return CNN_ERR_IO;
    fprintf(f, "# actual predicted count\n0 0 %ld\n0 1 %ld\n1 0 %ld\n1 1 %ld\n",
            r.cm.tn, r.cm.fp, r.cm.fn, r.cm.tp);
    if ((s = close_out(f, path, err)))
        return s;

    if (!(f = open_out(out_dir, "predictions", name, "csv", path, sizeof path, err)))
        return CNN_ERR_IO;
    fprintf(f, "path,label,probability,predicted\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s,%d,%.6f,%d\n", paths ? paths[i] : "", labels[i], prob[i],
                prob[i] >= threshold);
    return close_out(f, path, err);
}
