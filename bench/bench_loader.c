/* bench_loader.c - images/s of the training input pipeline: decode + resize
 * + augment + preprocess with the loader's worker threads, on real training
 * images.
 *
 * Reads $DATA/train (DATA default ../shared/data/chest_xray; skipped with a
 * message when absent). For the two model input sizes (299 InceptionV3, 224
 * VGG16) it times IMAGES images (batch 32, shuffled, default augmentation,
 * all cores or CNN_THREADS) after a warm-up batch, and prints images/s.
 * Compare with the training step's images/s (bench of the trainer): the
 * loader should be at least 4x faster so that it never stalls training.
 * Run: make bench-loader [DATA=...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"

#define IMAGES 640
#define BATCH 32

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int run(const cnn_dataset *ds, const cnn_index_list *all, int size,
               int threads)
{
    cnn_augment_params aug = cnn_augment_defaults();
    cnn_loader_config cfg = {.dataset = ds,
                             .indices = all->index,
                             .count = all->count,
                             .batch_size = BATCH,
                             .image_size = size,
                             .preproc = CNN_PREPROC_SYMMETRIC,
                             .augment = &aug,
                             .shuffle = 1,
                             .seed = 1,
                             .threads = threads};
    cnn_loader *l;
    cnn_error err = {0};
    if (cnn_loader_create(&cfg, &l, &err) != CNN_OK) {
        fprintf(stderr, "bench_loader: %s\n", err.message);
        return 1;
    }
    cnn_loader_start_epoch(l, 0);
    cnn_batch b;
    int status = cnn_loader_next(l, &b, &err) != CNN_OK; /* warm-up */
    double start = now();
    int images = 0;
    while (!status && images < IMAGES) {
        status = cnn_loader_next(l, &b, &err) != CNN_OK;
        if (b.n == 0)
            break;
        images += b.n;
    }
    double seconds = now() - start;
    cnn_loader_destroy(l);
    if (status) {
        fprintf(stderr, "bench_loader: %s\n", err.message);
        return 1;
    }
    printf("loader %dx%d, %d threads: %d images in %.2f s = %.0f images/s "
           "(decode + resize + augment + preprocess)\n",
           size, size, threads, images, seconds, images / seconds);
    return 0;
}

int main(void)
{
    const char *data = getenv("DATA");
    if (!data || !*data)
        data = "../shared/data/chest_xray";
    char train[4096];
    snprintf(train, sizeof train, "%s/train", data);
    struct stat st;
    if (stat(train, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("bench_loader: skipped, no training images at %s (set DATA)\n", train);
        return 0;
    }
    cnn_dataset ds;
    cnn_index_list all;
    cnn_error err = {0};
    if (cnn_dataset_scan(train, &ds, &err) != CNN_OK ||
        cnn_dataset_all(&ds, &all, &err) != CNN_OK) {
        fprintf(stderr, "bench_loader: %s\n", err.message);
        return 1;
    }
    const char *env = getenv("CNN_THREADS");
    int threads = env && atoi(env) > 0 ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_loader: %d images in %s (%d classes)\n", ds.count, train,
           ds.num_classes);
    int failed = run(&ds, &all, 299, threads) || run(&ds, &all, 224, threads);
    cnn_index_list_free(&all);
    cnn_dataset_free(&ds);
    return failed;
}
