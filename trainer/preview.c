/* preview.c - augmentation preview grid from the training images. */
#include <stdio.h>
#include <stdlib.h>

#include "augment.h"
#include "data.h"
#include "preview.h"

cnn_status preview_augment(const train_options *o, int n, const char *png,
                           cnn_error *err)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/train", o->data_dir);
    data_list d;
    cnn_status s = data_list_open(&d, dir, err);
    if (s)
        return s;
    const char **paths = malloc((size_t)n * sizeof *paths);
    if (!paths) {
        data_list_close(&d);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    }
    /* n images drawn with the seed, from both classes */
    cnn_rng rng;
    cnn_rng_seed(&rng, o->seed);
    for (int i = 0; i < n; i++)
        paths[i] = d.paths[cnn_rng_next(&rng) % (uint64_t)d.count];
    cnn_augment_params p = {0};
    if (!o->no_augment)
        p = o->aug;
    s = cnn_augment_preview_grid(paths, n, n, o->input_size, &p, o->seed, png, err);
    free(paths);
    data_list_close(&d);
    return s;
}
