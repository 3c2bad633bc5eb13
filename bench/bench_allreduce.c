/* bench_allreduce.c - the time of one in-place all-reduce (sum) of a
 * model's float gradients, the trainer's per-step communication: run under
 * mpirun -np N. Each size is reduced as one MPI_Allreduce and, as the
 * trainer does (trainer/distributed.c), as MPI_Allreduce calls of 4 MB
 * pieces; each once to warm up, then REPEATS times. Rank 0 prints the
 * median, and the bus bandwidth that a ring all-reduce would need for it
 * (2 (N-1)/N of the bytes through each rank's link).
 *   mpirun -np 2 bench_allreduce [floats ...]
 * Default sizes: InceptionV3 (21.8 million parameters without the top) and
 * VGG16 (138.4 million, with its classifier). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

enum { REPEATS = 5 };

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void allreduce(float *buf, long n, long piece)
{
    for (long at = 0; at < n; at += piece)
        MPI_Allreduce(MPI_IN_PLACE, buf + at, (int)(n - at < piece ? n - at : piece),
                      MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

/* Median seconds of one all-reduce of n floats in pieces of `piece`. */
static double time_allreduce(float *buf, long n, long piece)
{
    double t[REPEATS];
    allreduce(buf, n, piece);
    for (int i = 0; i < REPEATS; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        allreduce(buf, n, piece);
        t[i] = MPI_Wtime() - start;
    }
    /* the slowest rank's time is the step's */
    MPI_Allreduce(MPI_IN_PLACE, t, REPEATS, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    qsort(t, REPEATS, sizeof t[0], by_value);
    return t[REPEATS / 2];
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static const char *default_names[] = {"InceptionV3", "VGG16"};
    static const long default_sizes[] = {21802784, 138357544};
    int count = argc > 1 ? argc - 1 : 2;
    for (int k = 0; k < count; k++) {
        long n = argc > 1 ? atol(argv[k + 1]) : default_sizes[k];
        if (n <= 0 || n > 2000000000L) {
            if (rank == 0)
                fprintf(stderr, "bench_allreduce: %s: not a float count\n", argv[k + 1]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        float *buf = malloc((size_t)n * sizeof *buf);
        if (!buf) {
            fprintf(stderr, "bench_allreduce: rank %d: out of memory for %ld floats\n",
                    rank, n);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        for (long i = 0; i < n; i++)
            buf[i] = 1e-3f * (float)(i % 1000);
        double bytes = (double)n * sizeof(float);
        const long pieces[2] = {n, (1 << 22) / (long)sizeof(float)};
        for (int p = 0; p < 2; p++) {
            double s = time_allreduce(buf, n, pieces[p]);
            if (rank == 0)
                printf("allreduce %-12s %6.1f M floats (%4.0f MB) on %d ranks, %s: "
                       "%7.1f ms (median of %d), ring bus bandwidth %.2f GB/s\n",
                       argc > 1 ? "" : default_names[k], (double)n / 1e6, bytes / 1e6,
                       size, p ? "4 MB pieces" : "one call  ", s * 1e3, REPEATS,
                       2.0 * (size - 1) / size * bytes / s / 1e9);
        }
        free(buf);
    }
    MPI_Finalize();
    return 0;
}
