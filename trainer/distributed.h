/* distributed.h - the trainer's data-parallel ranks: the one file that
 * talks to MPI. A run started by an MPI launcher (mpirun, srun) is N ranks
 * of one job; a run started directly is rank 0 of 1 and never touches MPI
 * (singleton MPI_Init costs most of a second and starts a helper daemon).
 *
 * Every collective below must be called by all ranks in the same order;
 * with one rank each is a no-op. Failures inside MPI end the job (MPI's
 * default error handler). */
#ifndef TRAINER_DISTRIBUTED_H
#define TRAINER_DISTRIBUTED_H

#include <stddef.h>

/* Joins the job when a launcher started this process (its environment says
 * so), else stays a single rank. Returns 0, or -1 after printing why
 * (a launcher started several tasks that MPI does not see as one job). */
int dist_init(int *argc, char ***argv);
/* Leaves the job (a no-op for a single rank). */
void dist_finish(void);

int dist_rank(void);
int dist_size(void);

/* Ranks [lo, hi) of n items that this rank handles: contiguous, in rank
 * order, sizes differing by at most one. */
void dist_share(long n, long *lo, long *hi);

/* In-place sums over all ranks. */
void dist_sum_floats(float *buf, size_t count);
void dist_sum_doubles(double *buf, size_t count);
/* Rank 0's bytes to every rank. */
void dist_broadcast(void *buf, size_t bytes);
/* all[0..n) of floats_per_item each: every rank holds dist_share's part
 * of it; afterwards every rank holds all of it. */
void dist_gather_floats(float *all, long n, size_t floats_per_item);

/* Stops the whole job after printing which rank failed and why. */
void dist_abort(const char *why) __attribute__((noreturn));

#endif
