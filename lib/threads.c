/* threads.c - one knob for OpenBLAS's threads and the library's OpenMP loops. */
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <unistd.h>

#include "cnn.h"

void openblas_set_num_threads(int num_threads); /* from OpenBLAS's cblas.h */

void cnn_set_threads(int n)
{
    if (n <= 0) {
        const char *env = getenv("CNN_THREADS");
        n = env ? atoi(env) : 0;
    }
    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}

int cnn_get_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
