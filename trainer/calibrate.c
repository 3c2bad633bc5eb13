/* calibrate.c - re-chooses the decision threshold of a saved model on a
 * labelled split with the rule of training, reports the change, and saves
 * the model with the new threshold as a new file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "data.h"
#include "evaluate.h"
#include "export.h"
#include "metrics.h"
#include "model.h"
#include "paths.h"

void calibrate_options_default(calibrate_options *o)
{
    memset(o, 0, sizeof *o);
    o->min_sensitivity = 0.95;
    o->min_per_class = 30;
    o->batch_size = 16;
    o->loader_threads = 1;
}

static void print_row(const char *what, const metrics_report *r)
{
    printf("  %-24s %9.6f  %11.4f  %11.4f  %8.4f  %4ld  %4ld\n", what,
           r->threshold, r->sensitivity, r->specificity, r->accuracy, r->cm.fp,
           r->cm.fn);
}

cnn_status calibrate_run(const calibrate_options *o, cnn_error *err)
{
    if (!(o->min_sensitivity > 0 && o->min_sensitivity <= 1))
        return cnn_fail(err, CNN_ERR_ARG, "--min-sensitivity must be in (0, 1]");
    /* the original's threshold, chosen on validation data, would be lost */
    if (path_same_file(o->model_file, o->out))
        return cnn_fail(err, CNN_ERR_ARG, "--out is the model file itself: write "
                        "the calibrated model to a new file");
    cnn_set_threads(o->threads);
    cnn_model *m;
    data_list d;
    float *prob;
    cnn_status s = evaluate_model_on_split(o->model_file, o->split_dir, o->batch_size,
                                           o->loader_threads, &m, &d, &prob, err);
    if (s)
        return s;
    int per_class[2] = {0, 0};
    for (int i = 0; i < d.count; i++)
        per_class[d.labels[i]]++;
    if (per_class[0] < o->min_per_class || per_class[1] < o->min_per_class)
        s = cnn_fail(err, CNN_ERR_ARG, "%s has %d NORMAL and %d PNEUMONIA images; "
                     "calibration needs at least %d of each (--min-per-class)",
                     o->split_dir, per_class[0], per_class[1], o->min_per_class);
    if (!s) {
        cnn_model_config *cfg = cnn_model_config_of(m);
        double threshold = metrics_choose_threshold(prob, d.labels, (size_t)d.count,
                                                    o->min_sensitivity);
        metrics_report before = metrics_compute(prob, d.labels, (size_t)d.count,
                                                cfg->threshold);
        metrics_report after = metrics_compute(prob, d.labels, (size_t)d.count,
                                               threshold);
        printf("Calibration on %s (%d NORMAL, %d PNEUMONIA), ROC AUC %.4f\n"
               "rule: the highest specificity with sensitivity >= %.2f\n\n"
               "  %-24s %9s  %11s  %11s  %8s  %4s  %4s\n",
               o->split_dir, per_class[0], per_class[1], after.auc,
               o->min_sensitivity, "", "threshold", "sensitivity", "specificity",
               "accuracy", "FP", "FN");
        print_row("stored in the model", &before);
        print_row("calibrated", &after);
        printf("\nThese figures are on the calibration images themselves: judge "
               "the calibrated\nmodel on other patients (trainer evaluate).\n\n");

        /* The note goes first so that a long history, not the note, is what
         * a full provenance field cuts off. */
        char note[sizeof o->split_dir + sizeof cfg->provenance + 256];
        snprintf(note, sizeof note, "threshold %.6f chosen by trainer calibrate on "
                 "%s (%d NORMAL, %d PNEUMONIA; sensitivity >= %.2f), was %.6f; %s",
                 threshold, o->split_dir, per_class[0], per_class[1],
                 o->min_sensitivity, cfg->threshold, cfg->provenance);
        copy_text(cfg->provenance, sizeof cfg->provenance, note);
        cfg->threshold = (float)threshold;
        if (o->version[0])
            copy_text(cfg->version, sizeof cfg->version, o->version);
        s = export_loaded_model(m, o->model_file, o->out, err);
    }
    free(prob);
    data_list_close(&d);
    cnn_model_free(m);
    return s;
}
