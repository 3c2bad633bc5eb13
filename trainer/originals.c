/* originals.c - `trainer originals`: a model's verdicts on full-resolution
 * original X-rays against those on their copies (same class folder, same
 * file name), each image run the way ./infer runs it (analyse_file.h), so
 * the figures are what users get.
 *
 * Outcomes are NORMAL, PNEUMONIA or refused by the input gate. A pair
 * agrees when both outcomes are the same (both refused counts as agreeing);
 * recall and specificity count a refused image as not called correctly;
 * |dp| is over the pairs of which neither image was refused. */
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse_file.h"
#include "data.h"
#include "metrics.h"
#include "model.h"
#include "originals.h"
#include "paths.h"
#include "progress.h"

enum { OUTCOME_NORMAL, OUTCOME_PNEUMONIA, OUTCOME_REFUSED };
static const char *const outcome_name[] = {"NORMAL", "PNEUMONIA", "REFUSED"};
enum { ORIGINAL, COPY };

typedef struct {
    const char *path[2];   /* [ORIGINAL], [COPY] */
    char *copy_path;       /* owned */
    int label;             /* 0 NORMAL, 1 PNEUMONIA */
    int outcome[2];
    float prob[2];         /* NAN when refused */
} pair;

typedef struct {
    int pairs, per_class[2], agree, dp_pairs, max_dp_at;
    int matrix[3][3];      /* [copy outcome][original outcome] */
    int correct[2][2];     /* [ORIGINAL/COPY][label]: called right */
    int refused[2];
    double sum_dp, max_dp, auc[2];
} originals_stats;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: trainer originals --model-file FILE --originals DIR --copies DIR\n"
            "                         [--out DIR] [--threads N]\n\n"
            "Runs the model on each image in DIR/NORMAL and DIR/PNEUMONIA of\n"
            "--originals and on its copy (same class folder and file name) in\n"
            "--copies, as ./infer does, and prints verdict agreement, mean and\n"
            "max |dp| (difference of pneumonia probabilities), recall and\n"
            "specificity on each set, the disagreements, and how many of each the\n"
            "input gate refused (a refused image counts as a disagreement unless\n"
            "both are refused, and as a wrong call in recall and specificity).\n"
            "Writes originals.csv (per pair) and originals.txt (the key value\n"
            "lines) in --out (default: the model file's directory).\n\n"
            "  --model-file FILE  model to measure\n"
            "  --originals DIR    full-resolution originals (NORMAL/, PNEUMONIA/)\n"
            "  --copies DIR       their copies, under the same names\n"
            "  --out DIR          where to write the CSV and the summary\n"
            "  --threads N        compute threads (default 0: $CNN_THREADS or all cores)\n");
}

static void stats_compute(const pair *p, int n, originals_stats *st)
{
    memset(st, 0, sizeof *st);
    st->pairs = n;
    st->max_dp = -1;
    st->max_dp_at = -1;
    float *prob[2] = {malloc((size_t)n * sizeof(float)), malloc((size_t)n * sizeof(float))};
    int *labels = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        st->per_class[p[i].label]++;
        st->matrix[p[i].outcome[COPY]][p[i].outcome[ORIGINAL]]++;
        st->agree += p[i].outcome[COPY] == p[i].outcome[ORIGINAL];
        for (int k = 0; k < 2; k++) {
            st->refused[k] += p[i].outcome[k] == OUTCOME_REFUSED;
            st->correct[k][p[i].label] += p[i].outcome[k] == p[i].label;
        }
        if (p[i].outcome[0] != OUTCOME_REFUSED && p[i].outcome[1] != OUTCOME_REFUSED) {
            double dp = fabs((double)p[i].prob[ORIGINAL] - p[i].prob[COPY]);
            st->sum_dp += dp;
            if (dp > st->max_dp) {
                st->max_dp = dp;
                st->max_dp_at = i;
            }
            if (prob[0] && prob[1] && labels) {
                prob[ORIGINAL][st->dp_pairs] = p[i].prob[ORIGINAL];
                prob[COPY][st->dp_pairs] = p[i].prob[COPY];
                labels[st->dp_pairs] = p[i].label;
            }
            st->dp_pairs++;
        }
    }
    for (int k = 0; k < 2; k++)
        st->auc[k] = prob[0] && prob[1] && labels
                         ? metrics_auc(prob[k], labels, (size_t)st->dp_pairs) : NAN;
    free(prob[0]);
    free(prob[1]);
    free(labels);
}

static double ratio(int a, int b)
{
    return b > 0 ? (double)a / b : NAN;
}

/* The key value lines (stdout and originals.txt). */
static void print_keys(FILE *f, const originals_stats *st, int unmatched,
                       const pair *p, double seconds)
{
    static const char *const set[2] = {"originals", "copies"};
    fprintf(f, "pairs %d\npairs_normal %d\npairs_pneumonia %d\nunmatched %d\n",
            st->pairs, st->per_class[0], st->per_class[1], unmatched);
    fprintf(f, "agreement %.6f\ndisagreements %d\n", ratio(st->agree, st->pairs),
            st->pairs - st->agree);
    fprintf(f, "flips_to_normal %d\nflips_to_pneumonia %d\n",
            st->matrix[OUTCOME_PNEUMONIA][OUTCOME_NORMAL],
            st->matrix[OUTCOME_NORMAL][OUTCOME_PNEUMONIA]);
    fprintf(f, "dp_pairs %d\nmean_abs_dp %.6f\nmax_abs_dp %.6f\nmax_abs_dp_file %s\n",
            st->dp_pairs, st->dp_pairs ? st->sum_dp / st->dp_pairs : NAN,
            st->max_dp_at >= 0 ? st->max_dp : NAN,
            st->max_dp_at >= 0 ? p[st->max_dp_at].path[ORIGINAL] : "-");
    for (int k = 0; k < 2; k++)
        fprintf(f, "%s_recall %.6f\n%s_specificity %.6f\n%s_auc %.6f\n%s_refused %d\n",
                set[k], ratio(st->correct[k][1], st->per_class[1]), set[k],
                ratio(st->correct[k][0], st->per_class[0]), set[k], st->auc[k],
                set[k], st->refused[k]);
    fprintf(f, "both_refused %d\nseconds %.1f\n",
            st->matrix[OUTCOME_REFUSED][OUTCOME_REFUSED], seconds);
}

static void print_report(const originals_stats *st, const pair *p,
                         const char *model_file, const cnn_model_config *cfg,
                         const char *originals, const char *copies, int unmatched)
{
    printf("Originals against their copies: %s (%s %s), threshold %.4f\n"
           "originals %s, copies %s\n"
           "%d pairs (%d NORMAL, %d PNEUMONIA), %d originals without a copy\n\n",
           model_file, cfg->name, cfg->version, cfg->threshold, originals, copies,
           st->pairs, st->per_class[0], st->per_class[1], unmatched);
    printf("  %-22s %10s %10s\n", "", "originals", "copies");
    printf("  %-22s %10.4f %10.4f\n", "recall (PNEUMONIA)",
           ratio(st->correct[0][1], st->per_class[1]),
           ratio(st->correct[1][1], st->per_class[1]));
    printf("  %-22s %10.4f %10.4f\n", "specificity (NORMAL)",
           ratio(st->correct[0][0], st->per_class[0]),
           ratio(st->correct[1][0], st->per_class[0]));
    printf("  %-22s %10.4f %10.4f\n", "ROC AUC", st->auc[0], st->auc[1]);
    printf("  %-22s %10d %10d\n\n", "refused by the gate", st->refused[0], st->refused[1]);
    printf("Verdict agreement %.4f: %d of %d pairs disagree (refused counts as a\n"
           "disagreement unless both are refused)\n",
           ratio(st->agree, st->pairs), st->pairs - st->agree, st->pairs);
    for (int c = 0; c < 3; c++)
        for (int o = 0; o < 3; o++)
            if (c != o && st->matrix[c][o])
                printf("  copy %-9s -> original %-9s %d\n", outcome_name[c],
                       outcome_name[o], st->matrix[c][o]);
    if (st->dp_pairs)
        printf("|dp| over %d pairs: mean %.4f, max %.4f (%s)\n", st->dp_pairs,
               st->sum_dp / st->dp_pairs, st->max_dp, p[st->max_dp_at].path[ORIGINAL]);
    printf("\n");
}

static void csv_prob(FILE *f, const pair *p, int k)
{
    if (p->outcome[k] == OUTCOME_REFUSED)
        fprintf(f, ",");
    else
        fprintf(f, ",%.6f", p->prob[k]);
}

static cnn_status write_outputs(const char *out_dir, const pair *p,
                                const originals_stats *st, int unmatched,
                                double seconds, cnn_error *err)
{
    cnn_status s = path_mkdirs(out_dir, err);
    if (s)
        return s;
    char path[1024];
    snprintf(path, sizeof path, "%s/originals.csv", out_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    fprintf(f, "class,file,original_probability,copy_probability,abs_dp,"
               "original_verdict,copy_verdict,agree\n");
    for (int i = 0; i < st->pairs; i++) {
        const char *slash = strrchr(p[i].path[ORIGINAL], '/');
        fprintf(f, "%s,%s", outcome_name[p[i].label],
                slash ? slash + 1 : p[i].path[ORIGINAL]);
        csv_prob(f, &p[i], ORIGINAL);
        csv_prob(f, &p[i], COPY);
        if (p[i].outcome[ORIGINAL] == OUTCOME_REFUSED || p[i].outcome[COPY] == OUTCOME_REFUSED)
            fprintf(f, ",");
        else
            fprintf(f, ",%.6f", fabs((double)p[i].prob[ORIGINAL] - p[i].prob[COPY]));
        fprintf(f, ",%s,%s,%d\n", outcome_name[p[i].outcome[ORIGINAL]],
                outcome_name[p[i].outcome[COPY]],
                p[i].outcome[ORIGINAL] == p[i].outcome[COPY]);
    }
    if (fclose(f))
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    snprintf(path, sizeof path, "%s/originals.txt", out_dir);
    if (!(f = fopen(path, "w")))
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    print_keys(f, st, unmatched, p, seconds);
    if (fclose(f))
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    return CNN_OK;
}

/* Pairs each original with its copy; *n pairs (the others are counted in
 * *unmatched and the first few named on stderr). */
static cnn_status match(const data_list *d, const char *copies, pair **out, int *n,
                        int *unmatched, cnn_error *err)
{
    pair *p = calloc((size_t)d->count, sizeof *p);
    if (!p)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    *n = *unmatched = 0;
    for (int i = 0; i < d->count; i++) {
        const char *slash = strrchr(d->paths[i], '/');
        const char *file = slash ? slash + 1 : d->paths[i];
        size_t len = strlen(copies) + strlen(file) + 32;
        char *copy = malloc(len);
        if (!copy) {
            for (int k = 0; k < *n; k++)
                free(p[k].copy_path);
            free(p);
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        }
        snprintf(copy, len, "%s/%s/%s", copies, outcome_name[d->labels[i]], file);
        if (!path_exists(copy)) {
            if (++*unmatched <= 5)
                fprintf(stderr, "trainer originals: no copy of %s (%s)\n",
                        d->paths[i], copy);
            free(copy);
            continue;
        }
        p[*n].path[ORIGINAL] = d->paths[i];
        p[*n].path[COPY] = p[*n].copy_path = copy;
        p[*n].label = d->labels[i];
        ++*n;
    }
    *out = p;
    if (*n == 0)
        return cnn_fail(err, CNN_ERR_IO, "none of the %d images in the originals "
                        "folder has a copy under %s", d->count, copies);
    return CNN_OK;
}

static cnn_status run(const char *model_file, const char *originals,
                      const char *copies, const char *out_dir, cnn_error *err)
{
    double start = progress_now();
    cnn_model *m;
    cnn_status s = cnn_model_load(&m, model_file, err);
    if (s)
        return s;
    data_list d;
    if ((s = data_list_open(&d, originals, err))) {
        cnn_model_free(m);
        return s;
    }
    pair *p = NULL;
    int n = 0, unmatched = 0;
    s = match(&d, copies, &p, &n, &unmatched, err);
    progress bar;
    progress_start(&bar, stderr, "originals", 2L * n);
    for (int i = 0; !s && i < n; i++)
        for (int k = 0; !s && k < 2; k++) {
            analysis a;
            s = analyse_file(m, p[i].path[k], 0, &a, err);
            if (s)
                break;
            p[i].outcome[k] = analyse_refused(&a) ? OUTCOME_REFUSED : a.positive;
            p[i].prob[k] = analyse_refused(&a) ? NAN : a.probability;
            analysis_free(&a);
            progress_advance(&bar, 1, NAN);
        }
    progress_finish(&bar);
    if (!s) {
        originals_stats st;
        stats_compute(p, n, &st);
        double seconds = progress_now() - start;
        char dir[512];
        snprintf(dir, sizeof dir, "%s", model_file);
        const char *where = out_dir[0] ? out_dir : dirname(dir);
        print_report(&st, p, model_file, cnn_model_config_of(m), originals, copies,
                     unmatched);
        print_keys(stdout, &st, unmatched, p, seconds);
        s = write_outputs(where, p, &st, unmatched, seconds, err);
        if (!s)
            printf("\nwrote %s/originals.csv and %s/originals.txt\n", where, where);
    }
    for (int i = 0; p && i < n; i++)
        free(p[i].copy_path);
    free(p);
    data_list_close(&d);
    cnn_model_free(m);
    return s;
}

int originals_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"model-file", required_argument, NULL, 'm'},
        {"originals", required_argument, NULL, 'o'},
        {"copies", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'O'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model_file = NULL, *originals = NULL, *copies = NULL, *out_dir = "";
    int threads = 0, c;
    optind = 1;
    opterr = 0; /* getopt would name the subcommand alone */
    while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
        switch (c) {
        case 'm': model_file = optarg; break;
        case 'o': originals = optarg; break;
        case 'c': copies = optarg; break;
        case 'O': out_dir = optarg; break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 1024) {
                fprintf(stderr, "trainer originals: --threads: bad value '%s'\n", optarg);
                return 2;
            }
            threads = (int)v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "trainer originals: unknown option or missing value: %s "
                    "(see --help)\n", argv[optind]);
            return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "trainer originals: unexpected argument '%s'\n", argv[optind + 1]);
        return 2;
    }
    if (!model_file || !originals || !copies) {
        fprintf(stderr, "trainer originals: --model-file, --originals and --copies "
                "are required\n");
        return 2;
    }
    cnn_set_threads(threads);
    cnn_error err;
    if (run(model_file, originals, copies, out_dir, &err)) {
        fprintf(stderr, "trainer originals: %s\n", err.message);
        return 1;
    }
    return 0;
}
