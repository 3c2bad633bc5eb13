/* loader.c - worker threads filling two batch buffers (see loader.h).
 *
 * Each buffer ("slot") holds one batch number of the epoch. Workers claim
 * single samples of the lowest-numbered unfinished slot under the mutex and
 * do the work outside it, writing to their own part of the slot; the caller
 * waits until all samples of the batch it wants are done. A slot handed to
 * the caller is refilled with batch k+2 when the caller asks for the next. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

#define SLOTS 2

typedef struct {
    int batch;      /* batch number in the epoch; -1: idle */
    int n;          /* samples in it */
    int next;       /* next sample to claim */
    int done;       /* samples finished */
    int failed;
    cnn_error error; /* first failure */
    float *x;
    int *labels, *samples;
} slot;

struct cnn_loader {
    cnn_loader_config cfg;
    cnn_augment_params augment;
    int *indices;  /* cfg.indices, copied */
    int *order;    /* this epoch's permutation of indices */
    int *positions; /* cfg.positions, copied, or NULL */
    int batches;
    int epoch;
    size_t sample_floats;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* a sample can be claimed, or quit */
    pthread_cond_t ready_cv; /* a slot finished */
    pthread_cond_t idle_cv;  /* no sample in flight */
    slot slots[SLOTS];
    int next_fill;   /* next batch number to give a slot */
    int next_return; /* next batch number for the caller */
    int held;        /* slot the caller holds; -1: none */
    int in_flight;   /* samples being processed outside the lock */
    int quit;
    int nthreads;
    pthread_t *threads;
};

static int batch_size_of(const cnn_loader *l, int batch)
{
    int rest = l->cfg.count - batch * l->cfg.batch_size;
    return rest < l->cfg.batch_size ? rest : l->cfg.batch_size;
}

/* Gives slot s the next batch to fill, or idles it. Lock held. */
static void assign_slot(cnn_loader *l, slot *s)
{
    s->next = s->done = s->failed = 0;
    if (l->next_fill < l->batches) {
        s->batch = l->next_fill++;
        s->n = batch_size_of(l, s->batch);
    } else {
        s->batch = -1;
        s->n = 0;
    }
}

/* decode -> resize -> augment -> JPEG -> scale, into x [3][size][size]:
 * the model's input pipeline (cnn_model_input) with augmentation in it. */
static cnn_status load_sample(const cnn_loader *l, int sample, uint64_t key,
                              float *x, cnn_error *err)
{
    const int size = l->cfg.image_size;
    cnn_image img = {0}, sized = {0}, augmented = {0};
    cnn_status st = cnn_image_load(l->cfg.dataset->samples[sample].path,
                                   l->cfg.max_pixels, &img, err);
    if (st == CNN_OK) {
        cnn_image_collapse_grey(&img); /* same input, a third of the work */
        st = cnn_input_resize(&img, size, l->cfg.resize_filter, &sized, err);
    }
    const cnn_image *cur = &sized;
    if (st == CNN_OK && l->cfg.augment) {
        cnn_rng rng;
        cnn_rng_seed(&rng, l->cfg.seed ^ (key * 0xd1b54a32d192ed03ULL));
        st = cnn_augment_image(&l->augment, &rng, cur, &augmented, err);
        cur = &augmented;
    }
    if (st == CNN_OK)
        st = cnn_input_finish(cur, l->cfg.jpeg_quality, l->cfg.preproc, x, err);
    cnn_image_free(&img);
    cnn_image_free(&sized);
    cnn_image_free(&augmented);
    return st;
}

/* The unfinished slot with the lowest batch number that has samples left
 * to claim, or NULL. Lock held. */
static slot *claimable(cnn_loader *l)
{
    slot *best = NULL;
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &l->slots[i];
        if (s->batch >= 0 && s->next < s->n && (!best || s->batch < best->batch))
            best = s;
    }
    return best;
}

static void *worker(void *arg)
{
    cnn_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        slot *s;
        while (!l->quit && !(s = claimable(l)))
            pthread_cond_wait(&l->work_cv, &l->mu);
        if (l->quit)
            break;
        int j = s->next++;
        int pos = s->batch * l->cfg.batch_size + j;
        int sample = l->order[pos];
        int keyed = l->positions ? l->positions[pos] : pos;
        uint64_t key = (uint64_t)l->epoch << 32 | (uint32_t)keyed;
        l->in_flight++;
        pthread_mutex_unlock(&l->mu);

        cnn_error err = {0};
        cnn_status st = load_sample(l, sample, key, s->x + j * l->sample_floats, &err);
        s->labels[j] = l->cfg.dataset->samples[sample].label;
        s->samples[j] = sample;

        pthread_mutex_lock(&l->mu);
        if (st != CNN_OK && !s->failed) {
            s->failed = 1;
            s->error = err;
            s->error.code = st;
        }
        if (++s->done == s->n)
            pthread_cond_broadcast(&l->ready_cv);
        if (--l->in_flight == 0)
            pthread_cond_broadcast(&l->idle_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void cnn_loader_destroy(cnn_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->nthreads; i++)
        pthread_join(l->threads[i], NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    pthread_cond_destroy(&l->idle_cv);
    for (int i = 0; i < SLOTS; i++) {
        free(l->slots[i].x);
        free(l->slots[i].labels);
        free(l->slots[i].samples);
    }
    free(l->threads);
    free(l->indices);
    free(l->order);
    free(l->positions);
    free(l);
}

cnn_status cnn_loader_create(const cnn_loader_config *cfg, cnn_loader **out,
                             cnn_error *err)
{
    *out = NULL;
    if (!cfg->dataset || cfg->count <= 0 || cfg->batch_size <= 0 ||
        cfg->image_size <= 0 || cfg->image_size > 8192)
        return cnn_fail(err, CNN_ERR_ARG,
                        "loader needs samples, a batch size and an image size "
                        "(got %d samples, batch %d, size %d)",
                        cfg->count, cfg->batch_size, cfg->image_size);
    for (int i = 0; i < cfg->count; i++)
        if (cfg->indices[i] < 0 || cfg->indices[i] >= cfg->dataset->count)
            return cnn_fail(err, CNN_ERR_ARG, "sample index %d outside 0..%d",
                            cfg->indices[i], cfg->dataset->count - 1);
    if (cfg->positions && cfg->shuffle)
        return cnn_fail(err, CNN_ERR_ARG, "loader: augmentation positions "
                        "are for an unshuffled pass");
    cnn_loader *l = calloc(1, sizeof *l);
    if (!l)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a loader");
    /* Synchronization first: cnn_loader_destroy relies on it. */
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    pthread_cond_init(&l->idle_cv, NULL);
    l->cfg = *cfg;
    if (cfg->augment)
        l->augment = *cfg->augment;
    l->cfg.augment = cfg->augment ? &l->augment : NULL;
    l->batches = cfg->drop_last ? cfg->count / cfg->batch_size
                                : (cfg->count + cfg->batch_size - 1) / cfg->batch_size;
    l->sample_floats = (size_t)3 * cfg->image_size * cfg->image_size;
    l->held = -1;
    l->next_return = l->next_fill = l->batches; /* nothing until start_epoch */
    l->nthreads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (l->nthreads <= 0)
        l->nthreads = 1;
    l->indices = malloc(sizeof(int) * (size_t)cfg->count);
    l->order = malloc(sizeof(int) * (size_t)cfg->count);
    l->threads = calloc((size_t)l->nthreads, sizeof(pthread_t));
    if (cfg->positions)
        l->positions = malloc(sizeof(int) * (size_t)cfg->count);
    l->cfg.positions = NULL; /* the copy is l->positions */
    int ok = l->indices && l->order && l->threads && (!cfg->positions || l->positions);
    for (int i = 0; ok && i < SLOTS; i++) {
        slot *s = &l->slots[i];
        s->batch = -1;
        s->x = malloc(sizeof(float) * l->sample_floats * (size_t)cfg->batch_size);
        s->labels = malloc(sizeof(int) * (size_t)cfg->batch_size);
        s->samples = malloc(sizeof(int) * (size_t)cfg->batch_size);
        ok = s->x && s->labels && s->samples;
    }
    if (!ok) {
        l->nthreads = 0;
        cnn_loader_destroy(l);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for loader buffers");
    }
    memcpy(l->indices, cfg->indices, sizeof(int) * (size_t)cfg->count);
    memcpy(l->order, cfg->indices, sizeof(int) * (size_t)cfg->count);
    if (cfg->positions)
        memcpy(l->positions, cfg->positions, sizeof(int) * (size_t)cfg->count);
    for (int i = 0; i < l->nthreads; i++)
        if (pthread_create(&l->threads[i], NULL, worker, l) != 0) {
            l->nthreads = i;
            cnn_loader_destroy(l);
            return cnn_fail(err, CNN_ERR_NOMEM, "cannot start loader thread %d", i);
        }
    *out = l;
    return CNN_OK;
}

int cnn_loader_batches(const cnn_loader *l) { return l->batches; }

void cnn_loader_start_epoch(cnn_loader *l, int epoch)
{
    pthread_mutex_lock(&l->mu);
    /* Stop claims, then let samples already in flight land. */
    for (int i = 0; i < SLOTS; i++)
        l->slots[i].next = l->slots[i].n;
    while (l->in_flight > 0)
        pthread_cond_wait(&l->idle_cv, &l->mu);

    l->epoch = epoch;
    memcpy(l->order, l->indices, sizeof(int) * (size_t)l->cfg.count);
    if (l->cfg.shuffle) {
        cnn_rng rng;
        cnn_rng_seed(&rng, l->cfg.seed ^ (0x6a09e667f3bcc909ULL * (uint64_t)(epoch + 1)));
        for (int i = l->cfg.count - 1; i > 0; i--) {
            int j = (int)(cnn_rng_next(&rng) % (uint64_t)(i + 1));
            int t = l->order[i];
            l->order[i] = l->order[j];
            l->order[j] = t;
        }
    }
    l->next_fill = l->next_return = 0;
    l->held = -1;
    for (int i = 0; i < SLOTS; i++)
        assign_slot(l, &l->slots[i]);
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
}

cnn_status cnn_loader_next(cnn_loader *l, cnn_batch *batch, cnn_error *err)
{
    memset(batch, 0, sizeof *batch);
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        assign_slot(l, &l->slots[l->held]);
        l->held = -1;
        pthread_cond_broadcast(&l->work_cv);
    }
    if (l->next_return >= l->batches) {
        pthread_mutex_unlock(&l->mu);
        return CNN_OK;
    }
    int want = l->next_return++, si = 0;
    while (l->slots[si].batch != want)
        si++; /* always present: slots are assigned in batch order */
    slot *s = &l->slots[si];
    while (s->done < s->n)
        pthread_cond_wait(&l->ready_cv, &l->mu);
    l->held = si;
    cnn_status st = CNN_OK;
    if (s->failed) {
        st = s->error.code;
        if (err)
            *err = s->error;
    } else {
        batch->n = s->n;
        batch->x = s->x;
        batch->labels = s->labels;
        batch->samples = s->samples;
    }
    pthread_mutex_unlock(&l->mu);
    return st;
}
