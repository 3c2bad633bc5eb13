/* main.c - the `trainer` program: command line for training, evaluation and
 * augmentation previews.
 *
 *   trainer [train] [options]            train a model (see --help)
 *   trainer evaluate [options]           evaluate a saved model on a split
 *   trainer export --model-file IN --out OUT   copy a model for shipping
 *   trainer calibrate [options]          choose the threshold on a site's images
 *   trainer originals [options]          originals against their copies
 *   trainer border-mass [options]        Grad-CAM heat in the image border
 *   trainer fit-gate [options]           the input gate's statistics for a model
 *   trainer --preview-augment N grid.png write N augmented training samples
 */
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "border_mass.h"
#include "calibrate.h"
#include "distributed.h"
#include "evaluate.h"
#include "export.h"
#include "fit_gate.h"
#include "originals.h"
#include "preview.h"
#include "train.h"

typedef enum { OPT_INT, OPT_U64, OPT_FLOAT, OPT_DOUBLE, OPT_STRING, OPT_FLAG } opt_type;

typedef struct {
    const char *name;  /* without the leading "--" */
    opt_type type;
    void *value;
    size_t size;       /* OPT_STRING: buffer size */
    const char *help;
} option;

static void print_default(const option *o)
{
    switch (o->type) {
    case OPT_INT: printf("%d", *(int *)o->value); break;
    case OPT_U64: printf("%llu", (unsigned long long)*(uint64_t *)o->value); break;
    case OPT_FLOAT: printf("%g", *(float *)o->value); break;
    case OPT_DOUBLE: printf("%g", *(double *)o->value); break;
    case OPT_STRING: printf("\"%s\"", (char *)o->value); break;
    case OPT_FLAG: printf("%s", *(int *)o->value ? "on" : "off"); break;
    }
}

static void print_options(const option *opts, int n)
{
    for (int i = 0; i < n; i++) {
        char left[64];
        static const char *const arg[] = {"N", "N", "X", "X", "S", ""};
        snprintf(left, sizeof left, "--%s %s", opts[i].name, arg[opts[i].type]);
        printf("  %-26s %s (default: ", left, opts[i].help);
        print_default(&opts[i]);
        printf(")\n");
    }
}

static int parse_number_error(const char *name, const char *v)
{
    fprintf(stderr, "trainer: --%s: bad value '%s'\n", name, v);
    return -1;
}

/* Sets one option from text; -1 on a bad value. */
static int set_option(const option *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < -2147483647L || x > 2147483647L)
            return parse_number_error(o->name, v);
        *(int *)o->value = (int)x;
        return 0;
    }
    case OPT_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || *v == '-')
            return parse_number_error(o->name, v);
        *(uint64_t *)o->value = x;
        return 0;
    }
    case OPT_FLOAT:
    case OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (errno || end == v || *end || x != x || x > FLT_MAX || x < -FLT_MAX)
            return parse_number_error(o->name, v);
        if (o->type == OPT_FLOAT)
            *(float *)o->value = (float)x;
        else
            *(double *)o->value = x;
        return 0;
    }
    case OPT_STRING:
        if (strlen(v) >= o->size) {
            fprintf(stderr, "trainer: --%s: value too long\n", o->name);
            return -1;
        }
        strcpy((char *)o->value, v);
        return 0;
    case OPT_FLAG:
        *(int *)o->value = 1;
        return 0;
    }
    return -1;
}

/* Parses argv[first..]; returns 0, 1 when --help was printed, -1 on error. */
static int parse_options(const option *opts, int n, int argc, char **argv,
                         int first, void (*usage)(const option *, int))
{
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(opts, n);
            return 1;
        }
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2)) {
            fprintf(stderr, "trainer: unexpected argument '%s' (see --help)\n", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const option *o = NULL;
        for (int k = 0; k < n; k++)
            if (strlen(opts[k].name) == len && !strncmp(opts[k].name, name, len))
                o = &opts[k];
        if (!o) {
            fprintf(stderr, "trainer: unknown option '%s' (see --help)\n", arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (o->type != OPT_FLAG && !value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "trainer: --%s needs a value\n", o->name);
                return -1;
            }
            value = argv[++i];
        }
        if (set_option(o, value ? value : "1"))
            return -1;
    }
    return 0;
}

static void train_usage(const option *opts, int n)
{
    printf("usage: trainer [train] [options]\n"
           "       trainer evaluate --model-file FILE --split DIR [options]\n"
           "       trainer export --model-file IN --out OUT\n"
           "       trainer calibrate --model-file IN --split DIR --out OUT [options]\n"
           "       trainer originals --model-file F --originals DIR --copies DIR [options]\n"
           "       trainer border-mass --model-file F (--data DIR | --split DIR) [options]\n"
           "       trainer fit-gate --model-file IN --data DATA --out OUT [options]\n"
           "       trainer --preview-augment N grid.png [train options]\n"
           "       mpirun -np N trainer train [options]   (data-parallel; docs/trainer.md)\n\n"
           "Trains the pneumonia classifier on DATA/train (NORMAL/, PNEUMONIA/),\n"
           "with a patient-grouped, stratified validation split carved from it.\n"
           "The test split is never read while training.\n\n"
           "Outputs in --out: log.csv, checkpoint.safetensors (each epoch),\n"
           "model.safetensors (head overlay on the backbone; the file to ship),\n"
           "model_full.safetensors, eval_val.*, roc_val.csv, train_summary.csv.\n\n"
           "Options:\n");
    print_options(opts, n);
    printf("\nThe decision threshold is chosen on validation predictions: the\n"
           "highest specificity whose sensitivity is >= --min-sensitivity; it is\n"
           "stored in the model file. --cache-features trains the stage-1 head\n"
           "on backbone features of un-augmented images, computed once; it needs\n"
           "a frozen base, and augmentation then acts in stage 2 only.\n");
}

static void eval_usage(const option *opts, int n)
{
    printf("usage: trainer evaluate --model-file FILE --split DIR [options]\n\n"
           "Prints and writes accuracy, sensitivity, specificity, precision, F1,\n"
           "ROC AUC and the confusion matrix at the model's stored threshold:\n"
           "eval_<name>.{txt,csv,json}, roc_<name>.csv, confusion_<name>.dat,\n"
           "predictions_<name>.csv in --out.\n\nOptions:\n");
    print_options(opts, n);
}

static int run_evaluate(int argc, char **argv)
{
    eval_options e;
    eval_options_default(&e);
    const option opts[] = {
        {"model-file", OPT_STRING, e.model_file, sizeof e.model_file, "model to evaluate"},
        {"split", OPT_STRING, e.split_dir, sizeof e.split_dir, "directory with NORMAL/ and PNEUMONIA/"},
        {"out", OPT_STRING, e.out_dir, sizeof e.out_dir, "output directory (\"\": the model's)"},
        {"name", OPT_STRING, e.name, sizeof e.name, "report name (\"\": the split's base name)"},
        {"batch-size", OPT_INT, &e.batch_size, 0, "images per forward pass"},
        {"threads", OPT_INT, &e.threads, 0, "compute threads (0: $CNN_THREADS or all cores)"},
        {"loader-threads", OPT_INT, &e.loader_threads, 0, "image decoding threads"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    int r = parse_options(opts, n, argc, argv, 2, eval_usage);
    if (r)
        return r > 0 ? 0 : 2;
    if (!e.model_file[0] || !e.split_dir[0]) {
        fprintf(stderr, "trainer evaluate: --model-file and --split are required\n");
        return 2;
    }
    if (e.batch_size < 1 || e.loader_threads < 1) {
        fprintf(stderr, "trainer evaluate: --batch-size and --loader-threads must be "
                "at least 1\n");
        return 2;
    }
    cnn_error err;
    if (evaluate_run(&e, &err)) {
        fprintf(stderr, "trainer evaluate: %s\n", err.message);
        return 1;
    }
    return 0;
}

static void export_usage(const option *opts, int n)
{
    printf("usage: trainer export --model-file IN --out OUT [--version V]\n\n"
           "Saves the model IN as OUT (e.g. runs/inception_v3/model.safetensors\n"
           "as weights/pneumonia_inception_v3.safetensors). A head overlay stays\n"
           "an overlay: the backbone path it records is rewritten relative to\n"
           "OUT's directory.\n\nOptions:\n");
    print_options(opts, n);
}

static int run_export(int argc, char **argv)
{
    char in[512] = "", out[512] = "", version[64] = "";
    const option opts[] = {
        {"model-file", OPT_STRING, in, sizeof in, "model to copy"},
        {"out", OPT_STRING, out, sizeof out, "file to write"},
        {"version", OPT_STRING, version, sizeof version,
         "release version to record (\"\": keep the model's)"},
    };
    int r = parse_options(opts, (int)(sizeof opts / sizeof *opts), argc, argv, 2,
                          export_usage);
    if (r)
        return r > 0 ? 0 : 2;
    if (!in[0] || !out[0]) {
        fprintf(stderr, "trainer export: --model-file and --out are required\n");
        return 2;
    }
    if (strlen(version) >= sizeof ((cnn_model_config *)0)->version) {
        fprintf(stderr, "trainer export: --version is too long\n");
        return 2;
    }
    cnn_error err;
    if (export_model(in, out, version, &err)) {
        fprintf(stderr, "trainer export: %s\n", err.message);
        return 1;
    }
    return 0;
}

static void calibrate_usage(const option *opts, int n)
{
    printf("usage: trainer calibrate --model-file IN --split DIR --out OUT [options]\n\n"
           "Chooses the decision threshold of the model IN anew on the labelled\n"
           "images in DIR (NORMAL/, PNEUMONIA/), for example X-rays of a site's own\n"
           "patients, with the rule of training (the highest specificity whose\n"
           "sensitivity is >= --min-sensitivity), prints the figures on DIR at the\n"
           "old and the new threshold, and saves the model with the new threshold\n"
           "as OUT (IN is kept). Judge OUT on other patients than DIR's.\n\n"
           "Options:\n");
    print_options(opts, n);
}

static int run_calibrate(int argc, char **argv)
{
    calibrate_options c;
    calibrate_options_default(&c);
    const option opts[] = {
        {"model-file", OPT_STRING, c.model_file, sizeof c.model_file, "model to calibrate"},
        {"split", OPT_STRING, c.split_dir, sizeof c.split_dir, "directory with NORMAL/ and PNEUMONIA/"},
        {"out", OPT_STRING, c.out, sizeof c.out, "calibrated model to write (not IN)"},
        {"min-sensitivity", OPT_DOUBLE, &c.min_sensitivity, 0, "threshold rule: sensitivity to keep on DIR"},
        {"min-per-class", OPT_INT, &c.min_per_class, 0, "fewest images of each class DIR must hold"},
        {"version", OPT_STRING, c.version, sizeof c.version, "release version to record (\"\": keep the model's)"},
        {"batch-size", OPT_INT, &c.batch_size, 0, "images per forward pass"},
        {"threads", OPT_INT, &c.threads, 0, "compute threads (0: $CNN_THREADS or all cores)"},
        {"loader-threads", OPT_INT, &c.loader_threads, 0, "image decoding threads"},
    };
    int r = parse_options(opts, (int)(sizeof opts / sizeof *opts), argc, argv, 2,
                          calibrate_usage);
    if (r)
        return r > 0 ? 0 : 2;
    if (!c.model_file[0] || !c.split_dir[0] || !c.out[0]) {
        fprintf(stderr, "trainer calibrate: --model-file, --split and --out are required\n");
        return 2;
    }
    if (c.min_per_class < 1 || c.batch_size < 1 || c.loader_threads < 1) {
        fprintf(stderr, "trainer calibrate: --min-per-class, --batch-size and "
                "--loader-threads must be at least 1\n");
        return 2;
    }
    cnn_error err;
    if (calibrate_run(&c, &err)) {
        fprintf(stderr, "trainer calibrate: %s\n", err.message);
        return err.code == CNN_ERR_ARG ? 2 : 1;
    }
    return 0;
}

static void fit_gate_usage(const option *opts, int n)
{
    printf("usage: trainer fit-gate --model-file IN --data DATA --out OUT [options]\n\n"
           "Fits the input gate of the model IN (which refuses what is not a frontal\n"
           "chest X-ray before any verdict) and saves the model with it as OUT (IN\n"
           "is kept): the mean and shrunk covariance of the layout thumbnails and\n"
           "of the pooled features the head reads, over the training part of the\n"
           "trainer's patient-grouped split of DATA/train (same --val-fraction and\n"
           "--seed as training by default). Each distance threshold is chosen on\n"
           "the validation part only: --margin x the --quantile of the validation\n"
           "X-rays' distances. Prints the acceptance on validation.\n\nOptions:\n");
    print_options(opts, n);
}

static int run_fit_gate(int argc, char **argv)
{
    fit_gate_options f;
    fit_gate_options_default(&f);
    const option opts[] = {
        {"model-file", OPT_STRING, f.model_file, sizeof f.model_file, "trained model (binary head)"},
        {"data", OPT_STRING, f.data_dir, sizeof f.data_dir, "data set root (reads DATA/train)"},
        {"out", OPT_STRING, f.out, sizeof f.out, "model with the gate to write (not IN)"},
        {"val-fraction", OPT_DOUBLE, &f.val_fraction, 0, "share of train held out for validation (by patient)"},
        {"max-per-class", OPT_INT, &f.max_per_class, 0, "use at most N images per class (0: all)"},
        {"seed", OPT_U64, &f.seed, 0, "seed of the split"},
        {"quantile", OPT_DOUBLE, &f.quantile, 0, "threshold rule: quantile of the validation distances"},
        {"margin", OPT_DOUBLE, &f.margin, 0, "threshold rule: factor on that quantile"},
        {"batch-size", OPT_INT, &f.batch_size, 0, "images per forward pass"},
        {"threads", OPT_INT, &f.threads, 0, "compute threads (0: $CNN_THREADS or all cores)"},
        {"loader-threads", OPT_INT, &f.loader_threads, 0, "image decoding threads"},
    };
    int r = parse_options(opts, (int)(sizeof opts / sizeof *opts), argc, argv, 2,
                          fit_gate_usage);
    if (r)
        return r > 0 ? 0 : 2;
    if (!f.model_file[0] || !f.data_dir[0] || !f.out[0]) {
        fprintf(stderr, "trainer fit-gate: --model-file, --data and --out are required\n");
        return 2;
    }
    if (f.max_per_class < 0 || f.batch_size < 1 || f.loader_threads < 1) {
        fprintf(stderr, "trainer fit-gate: --batch-size and --loader-threads must be "
                "at least 1, --max-per-class at least 0\n");
        return 2;
    }
    cnn_error err;
    if (fit_gate_run(&f, &err)) {
        fprintf(stderr, "trainer fit-gate: %s\n", err.message);
        return err.code == CNN_ERR_ARG ? 2 : 1;
    }
    return 0;
}

static int run_train(int argc, char **argv, int first)
{
    /* The model is chosen first: it decides the other defaults. */
    cnn_arch arch = CNN_ARCH_INCEPTION_V3;
    for (int i = first; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            v = argv[i + 1];
        else if (!strncmp(argv[i], "--model=", 8))
            v = argv[i] + 8;
        cnn_error err;
        if (v && cnn_arch_parse(v, &arch, &err)) {
            fprintf(stderr, "trainer: %s\n", err.message);
            return 2;
        }
    }
    train_options o;
    train_options_default(&o, arch);
    char model_name[32];
    snprintf(model_name, sizeof model_name, "%s", cnn_arch_name(arch));
    int preview = 0;
    char preview_file[512] = "";
    const option opts[] = {
        {"model", OPT_STRING, model_name, sizeof model_name, "inception_v3 or vgg16"},
        {"data", OPT_STRING, o.data_dir, sizeof o.data_dir, "data set root (reads DATA/train)"},
        {"out", OPT_STRING, o.out_dir, sizeof o.out_dir, "output directory"},
        {"backbone", OPT_STRING, o.backbone, sizeof o.backbone, "pretrained weights (\"\": from scratch, He init)"},
        {"input-size", OPT_INT, &o.input_size, 0, "square input side in pixels"},
        {"head-attach", OPT_STRING, o.head_attach, sizeof o.head_attach, "backbone layer the head reads"},
        {"head-hidden", OPT_INT, &o.head_hidden, 0, "hidden dense units of the head (0: none)"},
        {"dropout", OPT_FLOAT, &o.dropout, 0, "dropout rate before the logit"},
        {"batch-size", OPT_INT, &o.batch_size, 0, "images per step (under mpirun: over all ranks)"},
        {"epochs", OPT_INT, &o.epochs, 0, "maximum epochs of stage 1 (frozen base)"},
        {"lr", OPT_DOUBLE, &o.lr, 0, "Adam learning rate, stage 1"},
        {"weight-decay", OPT_DOUBLE, &o.weight_decay, 0, "L2 weight decay (Adam)"},
        {"class-weights", OPT_INT, &o.class_weights, 0, "1: weight classes n/(2 n_c) from the train split; 0: none"},
        {"finetune-from", OPT_STRING, o.finetune_from, sizeof o.finetune_from, "stage 2: train the layers after this one (\"\": no stage 2)"},
        {"finetune-lr", OPT_DOUBLE, &o.finetune_lr, 0, "Adam learning rate, stage 2"},
        {"finetune-epochs", OPT_INT, &o.finetune_epochs, 0, "maximum epochs of stage 2"},
        {"monitor", OPT_STRING, o.monitor, sizeof o.monitor, "early stopping on val_loss or val_auc"},
        {"patience", OPT_INT, &o.patience, 0, "epochs without improvement before stopping"},
        {"min-delta", OPT_DOUBLE, &o.min_delta, 0, "smallest change that counts as improvement"},
        {"val-fraction", OPT_DOUBLE, &o.val_fraction, 0, "share of train held out for validation (by patient)"},
        {"max-per-class", OPT_INT, &o.max_per_class, 0, "use at most N training images per class (0: all)"},
        {"rotation", OPT_FLOAT, &o.aug.rotation_deg, 0, "augmentation: max rotation, degrees (0: off)"},
        {"zoom", OPT_FLOAT, &o.aug.zoom, 0, "augmentation: max zoom in/out fraction (0: off)"},
        {"translate", OPT_FLOAT, &o.aug.translate, 0, "augmentation: max shift, fraction of the side (0: off)"},
        {"flip", OPT_INT, &o.aug.hflip, 0, "augmentation: 1 = random horizontal flips"},
        {"brightness", OPT_FLOAT, &o.aug.brightness, 0, "augmentation: max brightness change, fraction (0: off)"},
        {"contrast", OPT_FLOAT, &o.aug.contrast, 0, "augmentation: max contrast change, fraction (0: off)"},
        {"gamma", OPT_FLOAT, &o.aug.gamma, 0, "augmentation: gamma exp(u g), u in [-1, 1] (0: off)"},
        {"erase", OPT_FLOAT, &o.aug.erase, 0, "augmentation: probability of flat patches at borders/corners"},
        {"markers", OPT_FLOAT, &o.aug.markers, 0, "augmentation: probability of marker-like glyphs near the edges"},
        {"rescale-min", OPT_FLOAT, &o.aug.rescale_min, 0, "augmentation: down-and-up resampling to at least this factor, random filters (0: off)"},
        {"blur", OPT_FLOAT, &o.aug.blur, 0, "augmentation: max Gaussian blur sigma, pixels (0: off)"},
        {"noise", OPT_FLOAT, &o.aug.noise, 0, "augmentation: max Gaussian noise sd, grey levels (0: off)"},
        {"jpeg-min", OPT_INT, &o.aug.jpeg_min, 0, "augmentation: JPEG re-compression at quality jpeg-min..95 (0: off)"},
        {"resize-filter", OPT_STRING, o.resize_filter, sizeof o.resize_filter, "input pipeline: bicubic, bilinear, box, lanczos or nearest (stored in the model)"},
        {"input-jpeg", OPT_INT, &o.input_jpeg_quality, 0, "input pipeline: JPEG round trip at this quality after the resize, 0: none (stored in the model)"},
        {"no-augment", OPT_FLAG, &o.no_augment, 0, "turn every augmentation off"},
        {"cache-features", OPT_FLAG, &o.cache_features, 0, "stage 1 on cached features of un-augmented images (augmentation: stage 2 only)"},
        {"bn-running-stats", OPT_FLAG, &o.bn_running_stats, 0, "batch norm keeps the pretrained running statistics while its layer trains (Keras' fine-tuning advice)"},
        {"standardize", OPT_FLAG, &o.standardize, 0, "give each image the average training X-ray's brightness and contrast, in training and in use (stored in the model)"},
        {"min-sensitivity", OPT_DOUBLE, &o.min_sensitivity, 0, "threshold rule: sensitivity to keep on validation"},
        {"seed", OPT_U64, &o.seed, 0, "seed of the split, init, order, dropout, augmentation"},
        {"threads", OPT_INT, &o.threads, 0, "compute threads (0: $CNN_THREADS or all cores)"},
        {"loader-threads", OPT_INT, &o.loader_threads, 0, "image loading/augmentation threads"},
        {"resume", OPT_FLAG, &o.resume, 0, "continue from OUT/checkpoint.safetensors"},
        {"preview-augment", OPT_INT, &preview, 0, "write N augmented samples to the PNG named next, then exit"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    /* --preview-augment N FILE takes two values: pull FILE out first. */
    char **args = malloc((size_t)argc * sizeof *args);
    if (!args)
        return 1;
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        args[nargs++] = argv[i];
        if (i >= first && !strcmp(argv[i], "--preview-augment") && i + 2 < argc) {
            args[nargs++] = argv[++i];
            snprintf(preview_file, sizeof preview_file, "%s", argv[++i]);
        }
    }
    int r = parse_options(opts, n, nargs, args, first, train_usage);
    free(args);
    if (r)
        return r > 0 ? 0 : 2;
    cnn_error err;
    if (preview) {
        if (!preview_file[0] || preview < 1) {
            fprintf(stderr, "trainer: usage: --preview-augment N grid.png\n");
            return 2;
        }
        if (preview_augment(&o, preview, preview_file, &err)) {
            fprintf(stderr, "trainer: %s\n", err.message);
            return 1;
        }
        printf("wrote %s\n", preview_file);
        return 0;
    }
    /* under mpirun or srun: one rank of a data-parallel job */
    if (dist_init(&argc, &argv))
        return 2;
    if (train_run(&o, &err)) {
        if (dist_size() > 1)
            dist_abort(err.message);
        fprintf(stderr, "trainer: %s\n", err.message);
        return 1;
    }
    dist_finish();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "evaluate"))
        return run_evaluate(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "export"))
        return run_export(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "calibrate"))
        return run_calibrate(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "originals"))
        return originals_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "border-mass"))
        return border_mass_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "fit-gate"))
        return run_fit_gate(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "train"))
        return run_train(argc, argv, 2);
    return run_train(argc, argv, 1);
}
