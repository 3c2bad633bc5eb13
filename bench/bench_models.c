/* bench_models.c - whole-network figures: InceptionV3 at 224 and 299 and
 * VGG16 at 224, batch 1 and 16: forward ms per image and effective GFLOP/s,
 * training-step images/s (forward, BCE loss, backward, SGD) with a full
 * backward and with the backbone frozen (head = GAP -> dense(1)), and, when
 * /usr/bin/python3 has torch and torchvision, the same in PyTorch
 * (bench/torch_models.py as a child process, same thread count), the two
 * interleaved call by call (ours, PyTorch, ours, ...) so that a noisy
 * machine slows both alike, 0.3 s apart (so that neither side's idle
 * threads, spinning, take the other's cores), after two untimed calls of
 * each measure: median and min-max of each and of the ratio of the paired
 * times. PyTorch runs with glibc malloc settings that keep its memory
 * mapped between calls (torch_open). Also the raw sgemm rate and the peak
 * RSS of a batch-1 InceptionV3@299 forward from a model file (measured in a
 * child process: `bench_models --rss FILE`).
 *
 *   build/opt/bench/bench_models [--quick] [--reps N] [--only ARCH:SIZE:BATCH[:MEASURE]]
 *   (5 repetitions by default; --only vgg16:224:1:fwd runs one row)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cnn.h"
#include "model.h"
#include "network.h"

/* Untimed calls of each measure before its repetitions: PyTorch needed two
 * to settle (InceptionV3@299 batch 1: 143, 108, then 66-72 ms). */
enum { QUIET_GAP_US = 300000, WARM_UP_CALLS = 2 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, const cnn_error *err)
{
    fprintf(stderr, "bench_models: %s: %s\n", what, err->message);
    exit(1);
}

/* sgemm GFLOP/s on 1024^3 (the ceiling the convolutions work against). */
static double sgemm_rate(void)
{
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++)
        a[i] = b[i] = 1.0f / (float)(1 + i % 7);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b,
                n, 0, c, n);
    int reps = 5;
    double t = now();
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n,
                    b, n, 0, c, n);
    t = now() - t;
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * n * reps / t * 1e-9;
}

/* Idle OpenMP and OpenBLAS threads spin for a while after a call before
 * they sleep; the gap keeps one side's spinning threads off the cores the
 * other side's timed call needs. */
static void quiet_gap(void)
{
    usleep(QUIET_GAP_US);
}

static void fill(float *x, size_t count, cnn_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        x[i] = cnn_rng_uniform(rng);
}

/* What is timed: a forward (inference plan), a training step with a full
 * backward, a training step with the backbone frozen. */
enum { FWD, FULL, FROZEN, MEASURES };
static const char *const MEASURE_NAME[MEASURES] = {"fwd", "full", "frozen"};

/* Our network for one row, kept across its repetitions. */
typedef struct {
    const char *arch;
    int size, batch;
    cnn_net *net;
    float **velocity;
    cnn_rng rng;
} ours;

static void ours_open(ours *o, const char *arch, int size, int batch)
{
    cnn_error err;
    cnn_head_spec head = {CNN_HEAD_BINARY, NULL, 0, 0.0f};
    o->arch = arch;
    o->size = size;
    o->batch = batch;
    cnn_status st = strcmp(arch, "vgg16") == 0 ? cnn_vgg16_build(&o->net, &head, &err)
                                               : cnn_inception_v3_build(&o->net, &head, &err);
    if (st != CNN_OK || cnn_net_alloc_params(o->net, &err) != CNN_OK)
        die("build", &err);
    cnn_net_init_he(o->net, 1);
    o->velocity = calloc((size_t)cnn_net_param_count(o->net), sizeof *o->velocity);
    for (int i = 0; i < cnn_net_param_count(o->net); i++)
        o->velocity[i] = calloc(cnn_net_param(o->net, i)->count, sizeof(float));
    cnn_rng_seed(&o->rng, 3);
}

static void ours_close(ours *o)
{
    for (int i = 0; i < cnn_net_param_count(o->net); i++)
        free(o->velocity[i]);
    free(o->velocity);
    cnn_net_free(o->net);
}

/* One SGD training step on the planned net. */
static void train_step(ours *o)
{
    cnn_net *net = o->net;
    const float *logits = cnn_net_output(net, NULL);
    float targets[16], dlogits[16];
    for (int i = 0; i < o->batch; i++)
        targets[i] = (float)(i & 1);
    cnn_net_zero_grad(net);
    cnn_net_forward(net, 1);
    cnn_bce_logits(o->batch, logits, targets, NULL, dlogits);
    cnn_net_backward(net, dlogits);
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        if (p->grad)
            cnn_sgd_update(p->count, p->data, p->grad, o->velocity[i], 1e-3f, 0.9f, 0);
    }
}

/* Seconds of one call of measure m (planning, when m changed, not timed). */
static double ours_time(ours *o, int m)
{
    cnn_error err;
    const char *last = strcmp(o->arch, "vgg16") == 0 ? "block5_pool" : "mixed10";
    if (cnn_net_freeze_until(o->net, m == FROZEN ? last : NULL, &err) != CNN_OK ||
        cnn_net_plan(o->net, o->batch, o->size, o->size, m != FWD, &err) != CNN_OK)
        die("plan", &err);
    fill(cnn_net_input(o->net), (size_t)o->batch * 3 * o->size * o->size, &o->rng);
    quiet_gap();
    double t = now();
    if (m == FWD)
        cnn_net_forward(o->net, 0);
    else
        train_step(o);
    return now() - t;
}

static int torch_available(void)
{
    return system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") == 0;
}

/* PyTorch's network for one row: bench/torch_models.py as a child that
 * times one call per command. */
typedef struct {
    pid_t pid;
    FILE *to, *from;
} torch_proc;

static int torch_open(torch_proc *t, const char *arch, int size, int batch)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        return 0;
    char sz[16], bt[16], th[16];
    snprintf(sz, sizeof sz, "%d", size);
    snprintf(bt, sizeof bt, "%d", batch);
    snprintf(th, sizeof th, "%d", cnn_get_threads());
    t->pid = fork();
    if (t->pid < 0)
        return 0;
    if (t->pid == 0) {
        /* glibc's malloc hands PyTorch's large tensors back to the kernel
         * and faults them in afresh at every call (its threshold for that
         * moves with what was freed before): the same forward took 62 or
         * 28 ms per image depending on the calls before it. A fixed
         * threshold and no trimming keep it in its fast state, as the
         * jemalloc or tcmalloc PyTorch's tuning guide advises would; a
         * setting of the user's wins. */
        setenv("MALLOC_MMAP_THRESHOLD_", "33554432", 0);
        setenv("MALLOC_TRIM_THRESHOLD_", "68719476736", 0);
        setenv("MALLOC_TOP_PAD_", "268435456", 0);
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl("/usr/bin/python3", "python3", "bench/torch_models.py", arch, sz,
              bt, th, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    t->to = fdopen(in[1], "w");
    t->from = fdopen(out[0], "r");
    char line[64];
    if (!t->to || !t->from || !fgets(line, sizeof line, t->from) ||
        strncmp(line, "ready", 5) != 0) {
        fprintf(stderr, "bench_models: bench/torch_models.py did not start\n");
        return 0;
    }
    return 1;
}

static double torch_time(torch_proc *t, int m)
{
    double s = -1;
    quiet_gap();
    fprintf(t->to, "%s\n", MEASURE_NAME[m]);
    fflush(t->to);
    if (fscanf(t->from, "%lf", &s) != 1) {
        fprintf(stderr, "bench_models: no answer from bench/torch_models.py\n");
        exit(1);
    }
    return s;
}

static void torch_close(torch_proc *t)
{
    fprintf(t->to, "quit\n");
    fclose(t->to);
    fclose(t->from);
    waitpid(t->pid, NULL, 0);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of v[0..n) (sorted in place). */
typedef struct {
    double med, lo, hi;
} spread;

static spread spread_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    spread s = {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v[0], v[n - 1]};
    return s;
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Child mode: load the model file (mapped, zero copy), one forward. */
static int rss_child(const char *path)
{
    cnn_error err;
    cnn_model *m;
    if (cnn_model_load(&m, path, &err) != CNN_OK)
        die("load", &err);
    int s = cnn_model_config_of(m)->input_size;
    float *image = malloc(sizeof(float) * 3 * s * s);
    cnn_rng rng;
    cnn_rng_seed(&rng, 5);
    fill(image, (size_t)3 * s * s, &rng);
    float prob;
    if (cnn_model_predict(m, image, 1, &prob, &err) != CNN_OK)
        die("predict", &err);
    printf("%ld %zu\n", vm_hwm_kb(), cnn_net_arena_bytes(cnn_model_net(m)));
    free(image);
    cnn_model_free(m);
    return 0;
}

static void peak_rss(const char *self)
{
    cnn_error err;
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, CNN_ARCH_INCEPTION_V3);
    snprintf(cfg.head_attach, sizeof cfg.head_attach, "mixed10");
    cnn_model *m;
    char path[] = "/tmp/bench_models_XXXXXX.safetensors";
    int fd = mkstemps(path, 12);
    if (fd < 0) {
        perror("bench_models: mkstemps");
        return;
    }
    close(fd);
    if (cnn_model_create(&m, &cfg, 1, &err) != CNN_OK ||
        cnn_model_save(m, path, NULL, &err) != CNN_OK)
        die("model file", &err);
    cnn_model_free(m);
    struct stat st;
    stat(path, &st);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --rss %s", self, path);
    FILE *p = popen(cmd, "r");
    long kb = -1;
    size_t arena = 0;
    if (!p || fscanf(p, "%ld %zu", &kb, &arena) != 2)
        kb = -1;
    if (p)
        pclose(p);
    unlink(path);
    double weights_mb = (double)st.st_size / (1 << 20), peak_mb = kb / 1024.0;
    printf("\nPeak RSS, batch-1 InceptionV3@299 forward (mixed10 + head, model file "
           "mapped zero-copy): %.1f MB = weights %.1f MB + %.1f MB "
           "(activation arena %.1f MB); target <= weights + 100 MB: %s\n",
           peak_mb, weights_mb, peak_mb - weights_mb, (double)arena / (1 << 20),
           peak_mb - weights_mb <= 100 ? "met" : "NOT met");
}

#define MAX_REPS 50

/* Whether --only SPEC (ARCH:SIZE:BATCH, optionally :MEASURE) selects the
 * row; measure -1 asks whether any measure of it is selected. */
static int row_selected(const char *spec, const char *arch, int size, int batch,
                        int measure)
{
    if (!spec)
        return 1;
    char row[64];
    snprintf(row, sizeof row, "%s:%d:%d", arch, size, batch);
    size_t len = strlen(row);
    if (strncmp(spec, row, len) != 0)
        return 0;
    if (spec[len] == '\0' || measure < 0)
        return spec[len] == '\0' || spec[len] == ':';
    return spec[len] == ':' && strcmp(spec + len + 1, MEASURE_NAME[measure]) == 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--rss") == 0)
        return rss_child(argv[2]);
    int quick = 0, reps = 5;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_models [--quick] [--reps N] "
                            "[--only ARCH:SIZE:BATCH[:fwd|full|frozen]]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS)
        reps = 5;
    cnn_set_threads(0);
    static const struct {
        const char *arch;
        int size;
        double gflop; /* forward per image */
    } cases[] = {{"inception_v3", 224, 5.68}, {"inception_v3", 299, 11.43},
                 {"vgg16", 224, 30.94}};
    static const int batches[] = {1, 16};
    int torch = torch_available();
    double sgemm_before = sgemm_rate();
    const char *wait = getenv("OMP_WAIT_POLICY");
    const char *wino = getenv("CNN_WINOGRAD");
    printf("threads %d (OMP_WAIT_POLICY %s, CNN_WINOGRAD %s), OpenBLAS kernels %s, "
           "raw sgemm %.1f GFLOP/s, PyTorch %s\n",
           cnn_get_threads(), wait ? wait : "unset", wino ? wino : "unset",
           openblas_get_corename(), sgemm_before,
           torch ? "found" : "not found (skipped)");
    printf("%d repetitions each, ours and PyTorch interleaved (ours, PyTorch, "
           "ours, ...) %.1f s apart after %d untimed calls each; median [min-max].\n"
           "fwd: ms per image (GFLOP/s: direct-convolution FLOPs / our median "
           "time); full, frozen: training-step images/s; ratio: our time / "
           "PyTorch's time, per pair.\n", reps, QUIET_GAP_US / 1e6, WARM_UP_CALLS);
    printf("%-12s %4s %3s %-6s | %-26s | %-26s | %-22s\n", "network", "size",
           "n", "what", "ours", "PyTorch", "ratio (time)");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t b = 0; b < 2; b++) {
            int batch = batches[b];
            if ((quick && batch > 1) || !row_selected(only, cases[c].arch, cases[c].size, batch, -1))
                continue;
            ours o;
            ours_open(&o, cases[c].arch, cases[c].size, batch);
            torch_proc tp;
            int have_torch = torch && torch_open(&tp, cases[c].arch, cases[c].size, batch);
            for (int m = 0; m < MEASURES; m++) {
                if (!row_selected(only, cases[c].arch, cases[c].size, batch, m))
                    continue;
                double mine[MAX_REPS], theirs[MAX_REPS], ratio[MAX_REPS];
                for (int w = 0; w < WARM_UP_CALLS; w++) { /* plan, caches, first touch */
                    ours_time(&o, m);
                    if (have_torch)
                        torch_time(&tp, m);
                }
                for (int r = 0; r < reps; r++) {
                    mine[r] = ours_time(&o, m);
                    if (have_torch) {
                        theirs[r] = torch_time(&tp, m);
                        ratio[r] = mine[r] / theirs[r];
                    }
                }
                /* shown as ms per image (fwd) or images/s (training) */
                for (int r = 0; r < reps; r++) {
                    mine[r] = m == FWD ? mine[r] * 1000 / batch : batch / mine[r];
                    if (have_torch)
                        theirs[r] = m == FWD ? theirs[r] * 1000 / batch : batch / theirs[r];
                }
                spread so = spread_of(mine, reps);
                printf("%-12s %4d %3d %-6s | %8.2f [%8.2f-%8.2f] |", cases[c].arch,
                       cases[c].size, batch, MEASURE_NAME[m], so.med, so.lo, so.hi);
                if (have_torch) {
                    spread st = spread_of(theirs, reps), sr = spread_of(ratio, reps);
                    printf(" %8.2f [%8.2f-%8.2f] | %5.2f [%5.2f-%5.2f]", st.med,
                           st.lo, st.hi, sr.med, sr.lo, sr.hi);
                } else {
                    printf(" %-26s | %-22s", "-", "-");
                }
                if (m == FWD)
                    printf("  %.0f GFLOP/s", cases[c].gflop / (so.med / 1000.0));
                printf("\n");
                fflush(stdout);
            }
            if (have_torch)
                torch_close(&tp);
            ours_close(&o);
        }
    printf("raw sgemm %.1f GFLOP/s before, %.1f after\n", sgemm_before,
           sgemm_rate());
    if (!only) /* one row asked for: no more than that */
        peak_rss(argv[0]);
    return 0;
}
