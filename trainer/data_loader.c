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
    cnn_loader *pass;
};

cnn_status data_loader_new(data_loader **out, const data_list *d, int size,
                           cnn_preproc preproc, int batch, int threads,
                           cnn_error *err)
{
    data_loader *l = calloc(1, sizeof *l);
    if (!l)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    *l = (data_loader){d, size, batch, threads < 1 ? 1 : threads, preproc, NULL};
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
                             const data_augment *aug, uint64_t seed,
                             cnn_error *err)
{
    cnn_loader_destroy(l->pass);
    l->pass = NULL;
    cnn_augment_params p;
    if (aug)
        p = (cnn_augment_params){aug->rotation_deg, aug->zoom, aug->translate,
                                 aug->flip, aug->brightness, aug->contrast};
    cnn_loader_config cfg = {
        .dataset = l->list->impl,
        .indices = order,
        .count = n,
        .batch_size = l->batch,
        .image_size = l->size,
        .preproc = l->preproc,
        .augment = aug ? &p : NULL,
        .shuffle = 0,
        .drop_last = 0,
        .seed = seed,
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
