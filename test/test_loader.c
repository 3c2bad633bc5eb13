/* test_loader.c - the threaded batch loader: contents and order against a
 * direct single-threaded computation, per-epoch shuffles, determinism across
 * thread counts, failures and restarts. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "model.h"
#include "util/suite.h"

#define FIXTURES "test/fixtures/images/"
#define SIZE 32

static const char *fixture_files[] = {
    "png_grey8.png", "png_rgb16.png", "jpeg_rgb_baseline.jpeg",
    "xray_normal_IM-0115-0001.jpeg", "png_palette4.png", "jpeg_grey_progressive.jpeg",
    "png_rgba8.png", "xray_pneumonia_person1000_bacteria_2931.jpeg",
    "jpeg_cmyk.jpeg", "png_grey16.png"};
enum { NFILES = 10 };

static void fixture_dataset(cnn_dataset *ds, int *indices)
{
    memset(ds, 0, sizeof *ds);
    ck_assert_int_eq(cnn_dataset_add_class(ds, "a", NULL), CNN_OK);
    ck_assert_int_eq(cnn_dataset_add_class(ds, "b", NULL), CNN_OK);
    char path[256];
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof path, FIXTURES "%s", fixture_files[i]);
        ck_assert_int_eq(cnn_dataset_add(ds, path, i % 2, NULL), CNN_OK);
        indices[i] = i;
    }
}

static cnn_loader_config base_config(const cnn_dataset *ds, const int *indices)
{
    return (cnn_loader_config){.dataset = ds,
                               .indices = indices,
                               .count = NFILES,
                               .batch_size = 4,
                               .image_size = SIZE,
                               .preproc = CNN_PREPROC_SYMMETRIC,
                               .seed = 11,
                               .threads = 3};
}

START_TEST(batches_match_direct_preprocessing)
{
    cnn_dataset ds;
    int indices[NFILES];
    fixture_dataset(&ds, indices);
    cnn_loader_config cfg = base_config(&ds, indices);
    cnn_loader *l;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, &err), CNN_OK);
    ck_assert_int_eq(cnn_loader_batches(l), 3);
    static float want[3 * SIZE * SIZE];
    for (int epoch = 0; epoch < 2; epoch++) {
        cnn_loader_start_epoch(l, epoch);
        int seen = 0, sizes[3] = {4, 4, 2};
        cnn_batch b;
        for (int k = 0; k < 3; k++) {
            ck_assert_int_eq(cnn_loader_next(l, &b, &err), CNN_OK);
            ck_assert_int_eq(b.n, sizes[k]);
            for (int i = 0; i < b.n; i++, seen++) {
                ck_assert_int_eq(b.samples[i], seen); /* no shuffle: in order */
                ck_assert_int_eq(b.labels[i], seen % 2);
                cnn_image img;
                ck_assert_int_eq(cnn_image_load(ds.samples[seen].path, 0, &img, NULL),
                                 CNN_OK);
                ck_assert_int_eq(cnn_image_to_input(&img, SIZE, CNN_PREPROC_SYMMETRIC,
                                                    want, NULL), CNN_OK);
                cnn_image_free(&img);
                ck_assert_mem_eq(b.x + (size_t)i * 3 * SIZE * SIZE, want, sizeof want);
            }
        }
        ck_assert_int_eq(cnn_loader_next(l, &b, &err), CNN_OK);
        ck_assert_int_eq(b.n, 0);
    }
    cnn_loader_destroy(l);
    cnn_dataset_free(&ds);
}
END_TEST

/* With a model's input pipeline (resize filter, JPEG round trip) and no
 * augmentation, each image is what cnn_model_input gives ./infer: training
 * and use see the same pixels. */
START_TEST(batches_follow_the_model_pipeline)
{
    cnn_dataset ds;
    int indices[NFILES];
    fixture_dataset(&ds, indices);
    static const struct {
        cnn_resize_filter filter;
        int quality;
    } pipelines[] = {{CNN_RESIZE_BILINEAR, 75}, {CNN_RESIZE_LANCZOS, 30},
                     {CNN_RESIZE_NEAREST, 0}};
    static float want[3 * SIZE * SIZE];
    for (int k = 0; k < 3; k++) {
        cnn_loader_config cfg = base_config(&ds, indices);
        cfg.resize_filter = pipelines[k].filter;
        cfg.jpeg_quality = pipelines[k].quality;
        cnn_model_config model;
        cnn_model_config_default(&model, CNN_ARCH_INCEPTION_V3);
        model.input_size = SIZE;
        model.preprocess = cfg.preproc;
        model.resize_filter = pipelines[k].filter;
        model.input_jpeg_quality = pipelines[k].quality;
        cnn_loader *l;
        cnn_error err = {0};
        ck_assert_int_eq(cnn_loader_create(&cfg, &l, &err), CNN_OK);
        cnn_loader_start_epoch(l, 0);
        cnn_batch b;
        int seen = 0;
        while (cnn_loader_next(l, &b, &err) == CNN_OK && b.n > 0)
            for (int i = 0; i < b.n; i++, seen++) {
                cnn_image img;
                ck_assert_int_eq(cnn_image_load(ds.samples[b.samples[i]].path, 0, &img,
                                                NULL), CNN_OK);
                ck_assert_msg(cnn_model_input(&model, &img, want, &err) == CNN_OK, "%s",
                              err.message);
                cnn_image_free(&img);
                ck_assert_msg(memcmp(b.x + (size_t)i * 3 * SIZE * SIZE, want,
                                     sizeof want) == 0, "pipeline %d: %s differs", k,
                              ds.samples[b.samples[i]].path);
            }
        ck_assert_int_eq(seen, NFILES);
        cnn_loader_destroy(l);
    }
    cnn_dataset_free(&ds);
}
END_TEST

/* All sample indices of one epoch, in order. */
static void epoch_order(cnn_loader *l, int epoch, int *order, int *count)
{
    cnn_loader_start_epoch(l, epoch);
    cnn_batch b;
    *count = 0;
    while (cnn_loader_next(l, &b, NULL) == CNN_OK && b.n > 0)
        for (int i = 0; i < b.n; i++)
            order[(*count)++] = b.samples[i];
}

START_TEST(shuffles_each_epoch)
{
    cnn_dataset ds;
    int indices[NFILES];
    fixture_dataset(&ds, indices);
    cnn_loader_config cfg = base_config(&ds, indices);
    cfg.shuffle = 1;
    cfg.image_size = 8;
    cnn_loader *l, *l2;
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, NULL), CNN_OK);
    ck_assert_int_eq(cnn_loader_create(&cfg, &l2, NULL), CNN_OK);
    int a[NFILES], b[NFILES], c[NFILES], n;
    epoch_order(l, 0, a, &n);
    ck_assert_int_eq(n, NFILES);
    int seen[NFILES] = {0};
    for (int i = 0; i < NFILES; i++)
        seen[a[i]]++;
    for (int i = 0; i < NFILES; i++)
        ck_assert_int_eq(seen[i], 1);
    epoch_order(l, 1, b, &n);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    epoch_order(l2, 1, c, &n); /* another loader, same seed and epoch */
    ck_assert_mem_eq(b, c, sizeof b);
    cnn_loader_destroy(l);
    cnn_loader_destroy(l2);

    cfg.drop_last = 1;
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, NULL), CNN_OK);
    ck_assert_int_eq(cnn_loader_batches(l), 2);
    epoch_order(l, 0, a, &n);
    ck_assert_int_eq(n, 8);
    cnn_loader_destroy(l);
    cnn_dataset_free(&ds);
}
END_TEST

/* Concatenated x of every batch of epoch 3, augmented, with threads. */
static float *augmented_epoch(const cnn_dataset *ds, const int *indices,
                              int threads, uint64_t seed)
{
    cnn_loader_config cfg = base_config(ds, indices);
    cnn_augment_params p = cnn_augment_defaults();
    p.hflip = 1;
    cfg.augment = &p;
    cfg.shuffle = 1;
    cfg.threads = threads;
    cfg.seed = seed;
    cnn_loader *l;
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, NULL), CNN_OK);
    size_t per = 3 * SIZE * SIZE;
    float *all = malloc(sizeof(float) * per * NFILES);
    cnn_loader_start_epoch(l, 2); /* abandoned mid-way: must not disturb epoch 3 */
    cnn_batch b;
    ck_assert_int_eq(cnn_loader_next(l, &b, NULL), CNN_OK);
    cnn_loader_start_epoch(l, 3);
    int at = 0;
    while (cnn_loader_next(l, &b, NULL) == CNN_OK && b.n > 0) {
        memcpy(all + at * per, b.x, sizeof(float) * per * b.n);
        at += b.n;
    }
    ck_assert_int_eq(at, NFILES);
    cnn_loader_destroy(l);
    return all;
}

START_TEST(deterministic_across_threads)
{
    cnn_dataset ds;
    int indices[NFILES];
    fixture_dataset(&ds, indices);
    float *one = augmented_epoch(&ds, indices, 1, 5);
    float *four = augmented_epoch(&ds, indices, 4, 5);
    float *other = augmented_epoch(&ds, indices, 2, 6);
    size_t bytes = sizeof(float) * 3 * SIZE * SIZE * NFILES;
    ck_assert_mem_eq(one, four, bytes);
    ck_assert(memcmp(one, other, bytes) != 0);
    free(one);
    free(four);
    free(other);
    cnn_dataset_free(&ds);
}
END_TEST

/* Every image of an unshuffled augmented pass, concatenated: indices[0..n)
 * keyed by positions (NULL: their own). */
static float *augmented_pass(const cnn_dataset *ds, const int *indices, int n,
                             const int *positions, int batch)
{
    cnn_loader_config cfg = base_config(ds, indices);
    cnn_augment_params p = cnn_augment_defaults();
    p.hflip = 1;
    cfg.augment = &p;
    cfg.count = n;
    cfg.batch_size = batch;
    cfg.positions = positions;
    cnn_loader *l;
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, NULL), CNN_OK);
    size_t per = 3 * SIZE * SIZE;
    float *all = malloc(sizeof(float) * per * (size_t)n);
    cnn_loader_start_epoch(l, 1);
    cnn_batch b;
    int at = 0;
    while (cnn_loader_next(l, &b, NULL) == CNN_OK && b.n > 0) {
        memcpy(all + at * per, b.x, sizeof(float) * per * b.n);
        at += b.n;
    }
    ck_assert_int_eq(at, n);
    cnn_loader_destroy(l);
    return all;
}

/* Data-parallel shares: two loaders, each with half of every batch of 4
 * and those images' positions in the whole pass, augment each image as
 * the whole pass does; without the positions they do not. */
START_TEST(shares_augment_as_the_whole_pass)
{
    cnn_dataset ds;
    int indices[NFILES];
    fixture_dataset(&ds, indices);
    enum { PASS = 8 };
    float *whole = augmented_pass(&ds, indices, PASS, NULL, 4);
    size_t per = 3 * SIZE * SIZE;
    for (int rank = 0; rank < 2; rank++) {
        int share[PASS / 2], pos[PASS / 2];
        for (int i = 0; i < PASS / 2; i++) {
            pos[i] = (i / 2) * 4 + rank * 2 + i % 2;
            share[i] = indices[pos[i]];
        }
        float *part = augmented_pass(&ds, share, PASS / 2, pos, 2);
        float *unkeyed = augmented_pass(&ds, share, PASS / 2, NULL, 2);
        for (int i = 0; i < PASS / 2; i++)
            ck_assert_mem_eq(part + i * per, whole + (size_t)pos[i] * per,
                             sizeof(float) * per);
        if (rank == 1)
            ck_assert(memcmp(unkeyed, part, sizeof(float) * per * PASS / 2) != 0);
        free(part);
        free(unkeyed);
    }
    free(whole);
    cnn_loader_config cfg = base_config(&ds, indices);
    cfg.positions = indices;
    cfg.shuffle = 1;
    cnn_loader *l;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, &err), CNN_ERR_ARG);
    cnn_dataset_free(&ds);
}
END_TEST

START_TEST(bad_file_fails_its_batch)
{
    cnn_dataset ds;
    int indices[NFILES];
    fixture_dataset(&ds, indices);
    ck_assert_int_eq(cnn_dataset_add(&ds, FIXTURES "missing.png", 0, NULL), CNN_OK);
    int order[NFILES + 1];
    for (int i = 0; i <= NFILES; i++)
        order[i] = NFILES - i; /* the missing file first */
    cnn_loader_config cfg = base_config(&ds, order);
    cfg.count = NFILES + 1;
    cnn_loader *l;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, &err), CNN_OK);
    cnn_loader_start_epoch(l, 0);
    cnn_batch b;
    ck_assert_int_eq(cnn_loader_next(l, &b, &err), CNN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "missing.png"));
    ck_assert_int_eq(b.n, 0);
    ck_assert_int_eq(cnn_loader_next(l, &b, &err), CNN_OK); /* the epoch goes on */
    ck_assert_int_eq(b.n, 4);
    cnn_loader_destroy(l);

    int bad[1] = {NFILES + 5};
    cfg.indices = bad;
    cfg.count = 1;
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, &err), CNN_ERR_ARG);
    cfg.indices = order;
    cfg.batch_size = 0;
    ck_assert_int_eq(cnn_loader_create(&cfg, &l, &err), CNN_ERR_ARG);
    cnn_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, batches_match_direct_preprocessing);
    tcase_add_test(tc, batches_follow_the_model_pipeline);
    tcase_add_test(tc, shuffles_each_epoch);
    tcase_add_test(tc, deterministic_across_threads);
    tcase_add_test(tc, shares_augment_as_the_whole_pass);
    tcase_add_test(tc, bad_file_fails_its_batch);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
