/* distributed.c - MPI behind distributed.h. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "distributed.h"

static int joined, rank, size = 1;

/* Set by the launchers the trainer runs under: Open MPI's mpirun, PMIx
 * (srun --mpi=pmix, Open MPI 5), PMI-1/2 (MPICH's hydra, srun --mpi=pmi2). */
static int started_by_launcher(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") ||
           getenv("PMI_RANK") || getenv("PMI_FD");
}

int dist_init(int *argc, char ***argv)
{
    if (!started_by_launcher()) {
        /* srun -n N without an MPI plugin: N separate runs would all write
         * the same output directory */
        const char *tasks = getenv("SLURM_STEP_NUM_TASKS");
        if (tasks && atoi(tasks) > 1) {
            fprintf(stderr, "trainer: srun started %s tasks but no MPI job: "
                    "run it as srun --mpi=pmix (see srun --mpi=list)\n", tasks);
            return -1;
        }
        return 0;
    }
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    joined = 1;
    return 0;
}

void dist_finish(void)
{
    if (joined)
        MPI_Finalize();
    joined = 0;
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }

static void share_of(int r, long n, long *lo, long *hi)
{
    long base = n / size, extra = n % size;
    *lo = r * base + (r < extra ? r : extra);
    *hi = *lo + base + (r < extra);
}

void dist_share(long n, long *lo, long *hi)
{
    share_of(rank, n, lo, hi);
}

/* Sums go in pieces of 4 MB: Open MPI's all-reduce allocates a temporary
 * as large as its message, and glibc serves one above its mmap threshold
 * (32 MB at most) with fresh pages every time; their page faults made one
 * 87 MB all-reduce (InceptionV3's gradients) take 500 ms between two
 * processes here, against 24 ms in pieces reused from the heap
 * (bench/bench_allreduce.c). */
enum { SUM_PIECE_BYTES = 1 << 22 };
/* MPI counts are ints: broadcasts go in pieces too. */
enum { PIECE = 1 << 28 };

void dist_sum_floats(float *buf, size_t count)
{
    const size_t piece = SUM_PIECE_BYTES / sizeof(float);
    for (size_t at = 0; size > 1 && at < count; at += piece) {
        int n = (int)(count - at < piece ? count - at : piece);
        MPI_Allreduce(MPI_IN_PLACE, buf + at, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}

void dist_sum_doubles(double *buf, size_t count)
{
    const size_t piece = SUM_PIECE_BYTES / sizeof(double);
    for (size_t at = 0; size > 1 && at < count; at += piece) {
        int n = (int)(count - at < piece ? count - at : piece);
        MPI_Allreduce(MPI_IN_PLACE, buf + at, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
}

static void broadcast_from(int root, void *buf, size_t bytes)
{
    for (size_t at = 0; size > 1 && at < bytes; at += PIECE) {
        int n = bytes - at < PIECE ? (int)(bytes - at) : PIECE;
        MPI_Bcast((char *)buf + at, n, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}

void dist_broadcast(void *buf, size_t bytes)
{
    broadcast_from(0, buf, bytes);
}

void dist_gather_floats(float *all, long n, size_t floats_per_item)
{
    for (int r = 0; size > 1 && r < size; r++) {
        long lo, hi;
        share_of(r, n, &lo, &hi);
        broadcast_from(r, all + (size_t)lo * floats_per_item,
                       (size_t)(hi - lo) * floats_per_item * sizeof(float));
    }
}

void dist_abort(const char *why)
{
    fprintf(stderr, "trainer: rank %d of %d failed: %s\n", rank, size, why);
    if (size > 1) {
        fprintf(stderr, "trainer: stopping all %d ranks; --resume continues "
                "from the last checkpoint\n", size);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    exit(1);
}
