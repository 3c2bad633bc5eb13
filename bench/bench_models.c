/* bench_models.c - whole-network figures: InceptionV3 at 224 and 299 and
 * VGG16 at 224, batch 1 and 16: forward ms per image and effective GFLOP/s,
 * training-step images/s (forward, BCE loss, backward, SGD) with a full
 * backward and with the backbone frozen (head = GAP -> dense(1)), and, when
 * /usr/bin/python3 has torch, the same in PyTorch (bench/torch_models.py,
 * same thread count) with the ratio. Also the raw sgemm rate and the peak
 * RSS of a batch-1 InceptionV3@299 forward from a model file (measured in a
 * child process: `bench_models --rss FILE`).
 *
 *   build/opt/bench/bench_models [--quick]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cnn.h"
#include "model.h"
#include "network.h"

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

typedef struct {
    double fwd_ms, full_ips, frozen_ips;
} figures;

static void fill(float *x, size_t count, cnn_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        x[i] = cnn_rng_uniform(rng);
}

/* One SGD training step on the planned net. */
static void train_step(cnn_net *net, int batch, float **velocity)
{
    const float *logits = cnn_net_output(net, NULL);
    float targets[16], dlogits[16];
    for (int i = 0; i < batch; i++)
        targets[i] = (float)(i & 1);
    cnn_net_zero_grad(net);
    cnn_net_forward(net, 1);
    cnn_bce_logits(batch, logits, targets, NULL, dlogits);
    cnn_net_backward(net, dlogits);
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        if (p->grad)
            cnn_sgd_update(p->count, p->data, p->grad, velocity[i], 1e-3f, 0.9f, 0);
    }
}

static figures run_ours(const char *arch, int size, int batch, int reps, int warm)
{
    cnn_error err;
    cnn_net *net;
    cnn_head_spec head = {CNN_HEAD_BINARY, NULL, 0, 0.0f};
    cnn_status st = strcmp(arch, "vgg16") == 0 ? cnn_vgg16_build(&net, &head, &err)
                                               : cnn_inception_v3_build(&net, &head, &err);
    if (st != CNN_OK || cnn_net_alloc_params(net, &err) != CNN_OK)
        die("build", &err);
    cnn_net_init_he(net, 1);
    float **velocity = calloc((size_t)cnn_net_param_count(net), sizeof *velocity);
    for (int i = 0; i < cnn_net_param_count(net); i++)
        velocity[i] = calloc(cnn_net_param(net, i)->count, sizeof(float));
    cnn_rng rng;
    cnn_rng_seed(&rng, 3);
    size_t in = (size_t)batch * 3 * size * size;
    figures f;

    if (cnn_net_plan(net, batch, size, size, 0, &err) != CNN_OK)
        die("plan", &err);
    fill(cnn_net_input(net), in, &rng);
    if (warm)
        cnn_net_forward(net, 0);
    double t = now();
    for (int r = 0; r < reps; r++)
        cnn_net_forward(net, 0);
    f.fwd_ms = (now() - t) / reps * 1000.0 / batch;

    for (int frozen = 0; frozen < 2; frozen++) {
        const char *last = strcmp(arch, "vgg16") == 0 ? "block5_pool" : "mixed10";
        if (cnn_net_freeze_until(net, frozen ? last : NULL, &err) != CNN_OK ||
            cnn_net_plan(net, batch, size, size, 1, &err) != CNN_OK)
            die("plan", &err);
        fill(cnn_net_input(net), in, &rng);
        if (warm)
            train_step(net, batch, velocity);
        t = now();
        for (int r = 0; r < reps; r++)
            train_step(net, batch, velocity);
        double ips = batch * reps / (now() - t);
        if (frozen)
            f.frozen_ips = ips;
        else
            f.full_ips = ips;
    }
    for (int i = 0; i < cnn_net_param_count(net); i++)
        free(velocity[i]);
    free(velocity);
    cnn_net_free(net);
    return f;
}

static int torch_available(void)
{
    return system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") == 0;
}

static int run_torch(const char *arch, int size, int batch, int reps, int warm,
                     figures *f)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/torch_models.py %s %d %d %d %d %d",
             arch, size, batch, cnn_get_threads(), reps, warm);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    int ok = fscanf(p, "%lf %lf %lf", &f->fwd_ms, &f->full_ips, &f->frozen_ips) == 3;
    return pclose(p) == 0 && ok;
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

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--rss") == 0)
        return rss_child(argv[2]);
    int quick = argc == 2 && strcmp(argv[1], "--quick") == 0;
    cnn_set_threads(0);
    static const struct {
        const char *arch;
        int size;
        double gflop; /* forward per image */
    } cases[] = {{"inception_v3", 224, 5.68}, {"inception_v3", 299, 11.43},
                 {"vgg16", 224, 30.94}};
    static const int batches[] = {1, 16};
    int torch = torch_available();
    double sgemm = sgemm_rate();
    const char *wait = getenv("OMP_WAIT_POLICY");
    printf("threads %d (OMP_WAIT_POLICY %s), raw sgemm %.1f GFLOP/s, PyTorch %s\n",
           cnn_get_threads(), wait ? wait : "unset", sgemm,
           torch ? "found (ratio = ours / torch time)" : "not found");
    printf("%-14s %4s %3s | %9s %7s %5s | %8s %8s | %9s %8s %8s | %8s %8s %8s\n",
           "network", "size", "n", "fwd ms/im", "GFLOP/s", "%sgemm", "full i/s",
           "frzn i/s", "torch fwd", "full i/s", "frzn i/s", "fwd x", "full x",
           "frzn x");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t b = 0; b < 2; b++) {
            int batch = batches[b];
            if (quick && batch > 1)
                continue;
            /* batch 16 is slow: one timed repetition after no warm-up */
            int reps = batch == 1 ? 2 : 1, warm = batch == 1;
            figures o = run_ours(cases[c].arch, cases[c].size, batch, reps, warm);
            double rate = cases[c].gflop / (o.fwd_ms / 1000.0);
            printf("%-14s %4d %3d | %9.1f %7.1f %5.0f%% | %8.2f %8.2f |",
                   cases[c].arch, cases[c].size, batch, o.fwd_ms, rate,
                   100 * rate / sgemm, o.full_ips, o.frozen_ips);
            figures t;
            if (torch && run_torch(cases[c].arch, cases[c].size, batch, reps, warm, &t))
                printf(" %9.1f %8.2f %8.2f | %8.2f %8.2f %8.2f\n", t.fwd_ms,
                       t.full_ips, t.frozen_ips, o.fwd_ms / t.fwd_ms,
                       t.full_ips / o.full_ips, t.frozen_ips / o.frozen_ips);
            else
                printf(" %9s %8s %8s | %8s %8s %8s\n", "-", "-", "-", "-", "-", "-");
            fflush(stdout);
        }
    peak_rss(argv[0]);
    return 0;
}
