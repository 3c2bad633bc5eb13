#!/bin/bash
# bench_mpi.sh [DATA] - data-parallel training on this machine (make bench-mpi):
#   1. images/s of one training epoch, 1 process x 2 threads against
#      2 processes x 1 thread (mpirun -np 2), on the same images: InceptionV3
#      at 224 fine-tuning mixed4-mixed7 and the head (the recipe of model
#      2.0, stage 2 alone), global batch 16, BENCH_MPI_IMAGES images per class of
#      DATA/train (default 64; a seeded subset); skipped without DATA;
#   2. one in-place all-reduce of InceptionV3's and VGG16's gradients
#      (21.8 and 138.4 million floats) between 2 ranks, over shared memory
#      (what mpirun picks on one host) and over TCP on loopback, as one call
#      and in the trainer's 4 MB pieces.
# BUILD selects the build (build/opt).
set -euo pipefail

data=${1:-}
BUILD=${BUILD:-build/opt}
per_class=${BENCH_MPI_IMAGES:-64}
tmp=$(mktemp -d /tmp/bench_mpi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(mpirun --oversubscribe)

echo "bench-mpi: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# images/s of the epoch, from the log
rate() { awk -F, 'NR > 1 { v = $10 } END { print v }' "$1/log.csv"; }
compare_training() {
    echo "training: $data, $per_class images per class, InceptionV3 224, stage 2 after mixed3, batch 16"
    local train=(--model inception_v3 --data "$data" --max-per-class "$per_class"
                 --epochs 0 --finetune-from mixed3 --finetune-epochs 1 --finetune-lr 5e-5
                 --batch-size 16 --no-augment --loader-threads 1 --seed 1)
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$BUILD/bin/trainer" "${train[@]}" --threads 2 \
        --out "$tmp/one" > /dev/null 2> "$tmp/one.txt" || { tail "$tmp/one.txt"; exit 1; }
    echo "  1 process  x 2 threads: $(rate "$tmp/one") images/s"
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "${mpirun[@]}" -np 2 "$BUILD/bin/trainer" \
        "${train[@]}" --threads 1 --out "$tmp/two" > /dev/null 2> "$tmp/two.txt" \
        || { tail "$tmp/two.txt"; exit 1; }
    echo "  2 processes x 1 thread: $(rate "$tmp/two") images/s"
    sed -n 's/^gradient all-reduce: /    of which waiting in the gradient all-reduce: /p' "$tmp/two.txt"
}
if [ -n "$data" ]; then
    compare_training
else
    echo "training: skipped (no data set: make bench-mpi DATA=...)"
fi

for btl in vader tcp; do
    echo "all-reduce between 2 ranks over $btl:"
    "${mpirun[@]}" -np 2 --mca btl "self,$btl" "$BUILD/bench/bench_allreduce" | sed 's/^/  /'
done
