/* bench_conv.c - convolution throughput against raw cblas_sgemm.
 *
 * For InceptionV3 and VGG16 convolution shapes at batch 1 and 16, prints the
 * forward and backward (dx + dweight) GFLOP/s of cnn_conv2d_* and the
 * GFLOP/s of the equivalent single GEMM
 *   [out_c x K] x [K x N],  K = in_c*kh*kw, N = batch*out_h*out_w,
 * measured in the same run, and the ratios. A convolution counts 2*out_c*K*N
 * flops forward and twice that backward. Every figure is the best of a few
 * timed repetitions after a warm-up (the best is the least disturbed by
 * other processes on a shared machine); the three are timed in turn.
 * Stride-1 3x3 shapes also get the Winograd forward (lib/winograd.c, filter
 * transformed beforehand as in inference) in effective GFLOP/s (the same
 * direct-convolution flops over its time), its speed-up over the im2col
 * forward and what the network's rule picks for the shape.
 * Run: make bench-conv (all threads; CNN_THREADS=n to choose).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn.h"
#include "winograd.h"
#include "winograd_large.h"

/* The raw GEMM's B matrix is capped at this many floats (256 MB): beyond a
 * few thousand columns sgemm's rate no longer depends on N. */
#define RAW_MAX_B_FLOATS ((size_t)1 << 26)
#define REPEATS 5
/* Each timed repetition runs the operation often enough to last this long. */
#define MIN_REPEAT_SECONDS 0.05

typedef struct {
    const char *name;
    int in_c, in_h, in_w, out_c, kh, kw, stride;
    cnn_padding pad;
} bench_shape;

static const bench_shape SHAPES[] = {
    {"inception 35x35x288->64 1x1", 288, 35, 35, 64, 1, 1, 1, CNN_PAD_SAME},
    {"inception 17x17x768->192 1x7", 768, 17, 17, 192, 1, 7, 1, CNN_PAD_SAME},
    {"inception 8x8x1280->384 3x1", 1280, 8, 8, 384, 3, 1, 1, CNN_PAD_SAME},
    {"vgg16 224x224x64->64 3x3", 64, 224, 224, 64, 3, 3, 1, CNN_PAD_SAME},
    {"vgg16 28x28x512->512 3x3", 512, 28, 28, 512, 3, 3, 1, CNN_PAD_SAME},
    {"vgg16 14x14x512->512 3x3", 512, 14, 14, 512, 3, 3, 1, CNN_PAD_SAME},
    {"inception 147x147x32->64 3x3", 32, 147, 147, 64, 3, 3, 1, CNN_PAD_SAME},
    {"inception 35x35x64->96 3x3", 64, 35, 35, 96, 3, 3, 1, CNN_PAD_SAME},
    {"inception 8x8x448->384 3x3", 448, 8, 8, 384, 3, 3, 1, CNN_PAD_SAME},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef void (*bench_fn)(void *ctx);

/* How many calls of fn last at least MIN_REPEAT_SECONDS (after a warm-up). */
static int calls_per_repeat(bench_fn fn, void *ctx)
{
    double t0 = now();
    fn(ctx);
    double once = now() - t0;
    return once >= MIN_REPEAT_SECONDS ? 1 : (int)(MIN_REPEAT_SECONDS / once) + 1;
}

static double seconds_per_call(bench_fn fn, void *ctx, int calls)
{
    double t0 = now();
    for (int c = 0; c < calls; c++)
        fn(ctx);
    return (now() - t0) / calls;
}

typedef struct {
    const cnn_conv_shape *s;
    int n;
    float *x, *w, *b, *y, *dy, *dx, *dw, *ws;
    float *U, *wws; /* Winograd: transformed filter, workspace */
    int gm, gn, gk; /* raw GEMM */
    float *a, *bm, *c;
} bench_ctx;

static void run_forward(void *p)
{
    bench_ctx *b = p;
    cnn_conv2d_forward(b->s, b->n, b->x, b->w, b->b, b->y, b->ws);
}

static void run_backward(void *p)
{
    bench_ctx *b = p;
    cnn_conv2d_backward(b->s, b->n, b->x, b->w, b->dy, b->dx, b->dw, NULL,
                        b->ws);
}

/* Winograd forward with the filter transformed beforehand (as cached in
 * inference). */
static void run_winograd(void *p)
{
    bench_ctx *b = p;
    cnn_wino_forward(b->s, b->n, b->x, b->U, b->b, 0, b->y, b->wws);
}

static void run_gemm(void *p)
{
    bench_ctx *b = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b->gm, b->gn, b->gk,
                1.0f, b->a, b->gk, b->bm, b->gn, 0.0f, b->c, b->gn);
}

static float *random_floats(size_t count, cnn_rng *rng)
{
    float *p = malloc((count ? count : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "bench_conv: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < count; i++)
        p[i] = cnn_rng_uniform(rng) - 0.5f;
    return p;
}

static void bench_one(const bench_shape *sh, int n, cnn_rng *rng)
{
    cnn_conv_shape s;
    cnn_error err;
    if (cnn_conv_shape_init(&s, sh->in_c, sh->in_h, sh->in_w, sh->out_c,
                            sh->kh, sh->kw, sh->stride, sh->stride, sh->pad,
                            &err) != CNN_OK) {
        fprintf(stderr, "bench_conv: %s\n", err.message);
        exit(1);
    }
    size_t K = (size_t)s.in_c * s.kh * s.kw, P = (size_t)s.out_h * s.out_w;
    size_t in_count = (size_t)n * s.in_c * s.in_h * s.in_w;
    size_t out_count = (size_t)n * s.out_c * P;
    bench_ctx b = {.s = &s, .n = n};
    b.x = random_floats(in_count, rng);
    b.w = random_floats((size_t)s.out_c * K, rng);
    b.b = random_floats(s.out_c, rng);
    b.y = random_floats(out_count, rng);
    b.dy = random_floats(out_count, rng);
    b.dx = random_floats(in_count, rng);
    b.dw = random_floats((size_t)s.out_c * K, rng);
    b.ws = random_floats(cnn_conv_workspace_floats(&s), rng);
    b.gm = s.out_c;
    b.gk = (int)K;
    size_t gn = (size_t)n * P;
    if (gn * K > RAW_MAX_B_FLOATS)
        gn = RAW_MAX_B_FLOATS / K;
    b.gn = (int)gn;
    b.a = b.w;
    b.bm = random_floats(K * gn, rng);
    b.c = random_floats((size_t)b.gm * gn, rng);

    int wino = cnn_wino_applicable(&s);
    if (wino) {
        b.U = random_floats(cnn_wino_filter_floats(&s), rng);
        b.wws = random_floats(cnn_wino_workspace_floats(&s, n), rng);
        cnn_wino_filter(&s, b.w, NULL, b.U);
    }
    /* Rounds of forward, backward, raw GEMM (and Winograd) in turn, so that
     * all see the same disturbances; the best of each over the rounds. */
    bench_fn fns[4] = {run_forward, run_backward, run_gemm, run_winograd};
    int nfns = wino ? 4 : 3;
    int calls[4];
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (int k = 0; k < nfns; k++)
        calls[k] = calls_per_repeat(fns[k], &b);
    for (int r = 0; r < REPEATS; r++)
        for (int k = 0; k < nfns; k++) {
            double t = seconds_per_call(fns[k], &b, calls[k]);
            if (t < best[k])
                best[k] = t;
        }
    double flops = 2.0 * s.out_c * K * n * P;
    double fwd = flops / best[0] * 1e-9;
    double bwd = 2 * flops / best[1] * 1e-9;
    double raw = 2.0 * b.gm * K * gn / best[2] * 1e-9;
    free(b.x), free(b.y), free(b.dy), free(b.dx), free(b.ws);
    free(b.bm), free(b.c), free(b.w), free(b.b), free(b.dw);

    printf("%-30s %5d %7.1f %7.1f %7.1f   %5.0f%% %5.0f%%", sh->name, n, fwd,
           bwd, raw, 100 * fwd / raw, 100 * bwd / raw);
    if (wino) {
        double w = flops / best[3] * 1e-9;
        /* the F(4x4) forward is timed; the rule may take F(6x6) instead
         * (winograd_large.h) */
        printf("   %7.1f %5.2fx  %s", w, w / fwd,
               cnn_wino_large_preferred(&s, n) ? "F(6x6)"
               : cnn_wino_preferred(&s, n, 0)  ? "F(4x4)"
                                               : "im2col");
        free(b.U), free(b.wws);
    }
    printf("\n");
    fflush(stdout);
}

/* The "model name" line of /proc/cpuinfo, or "unknown CPU". */
static void cpu_model(char *out, size_t size)
{
    snprintf(out, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(out, size, "%s", colon + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    }
    fclose(f);
}

int main(void)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    cnn_set_threads(0);
    const char *policy = getenv("OMP_WAIT_POLICY");
    printf("conv benchmark on %s: %d threads, OMP_WAIT_POLICY=%s\n%s\n", cpu,
           cnn_get_threads(), policy ? policy : "(unset)",
           openblas_get_config());
    printf("GFLOP/s (best of %d); ratios relative to the raw sgemm of the "
           "same size\n\n", REPEATS);
    printf("%-30s %5s %7s %7s %7s   %6s %6s   %7s %6s  %s\n", "shape",
           "batch", "fwd", "bwd", "sgemm", "fwd/sg", "bwd/sg", "winogr",
           "/fwd", "rule");
    cnn_rng rng;
    cnn_rng_seed(&rng, 1);
    for (int batch = 1; batch <= 16; batch += 15)
        for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
            bench_one(&SHAPES[i], batch, &rng);
    return 0;
}
