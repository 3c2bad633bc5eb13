/* data_loader.c - the trainer's batch source on the library's threaded
 * loader (lib/loader.h). The trainer decides the order of every pass itself
 * (it is part of the checkpoint), so each pass is a loader over exactly that
 * order, unshuffled, with the pass's augmentation seed. */
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "loader.h"

struct data_loader {
    const data_list *list;
    int size, batch, threads;
    cnn_preproc preproc;
    cnn_resize_filter resize_filter;
    int jpeg_quality;
    cnn_loader *pass;
};

cnn_status data_loader_new(data_loader **out, const data_list *d,
                           const cnn_model_config *model, int batch,
                           int threads, cnn_error *err)
{
    data_loader *l = calloc(1, sizeof *l);
    if (!l)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    *l = (data_loader){d,
                       model->input_size,
                       batch,
                       threads < 1 ? 1 : threads,
                       model->preprocess,
                       model->resize_filter,
                       model->input_jpeg_quality,
                       NULL};
    *out = l;
    return CNN_OK;
}

void data_loader_free(data_loader *l)
{
    if (!l)
        return;
    cnn_loader_destroy(l->pass);
    free(l);
}

cnn_status data_loader_start(data_loader *l, const int *order, int n,
                             const cnn_augment_params *aug, uint64_t seed,
                             cnn_error *err)
{
    return data_loader_start_share(l, order, NULL, n, aug, seed, err);
}

cnn_status data_loader_start_share(data_loader *l, const int *order,
                                   const int *positions, int n,
                                   const cnn_augment_params *aug, uint64_t seed,
                                   cnn_error *err)
{
    cnn_loader_destroy(l->pass);
    l->pass = NULL;
    cnn_loader_config cfg = {
        .dataset = l->list->impl,
        .indices = order,
        .count = n,
        .batch_size = l->batch,
        .image_size = l->size,
        .preproc = l->preproc,
        .resize_filter = l->resize_filter,
        .jpeg_quality = l->jpeg_quality,
        .augment = aug,
        .shuffle = 0,
        .drop_last = 0,
        .seed = seed,
        .positions = positions,
        .threads = l->threads,
    };
    cnn_status s = cnn_loader_create(&cfg, &l->pass, err);
    if (!s)
        cnn_loader_start_epoch(l->pass, 0);
    return s;
}

cnn_status data_loader_next(data_loader *l, float *images, int *labels,
                            int *count, cnn_error *err)
{
    cnn_batch b;
    cnn_status s = cnn_loader_next(l->pass, &b, err);
    if (s)
        return s;
    size_t floats = (size_t)b.n * 3 * (size_t)l->size * (size_t)l->size;
    memcpy(images, b.x, floats * sizeof(float));
    memcpy(labels, b.labels, (size_t)b.n * sizeof(int));
    *count = b.n;
    return CNN_OK;
}
