# mpi.mk - data-parallel training over MPI (Open MPI from Debian: openmpi-bin,
# libopenmpi-dev). Only the trainer links MPI, through trainer/distributed.c;
# the library, ./infer and the CGI do not.
#   mpirun -np N $(BUILD)/bin/trainer train ...   (docs/trainer.md, "Several machines")
#   make bench-mpi [DATA=../shared/data/chest_xray] [BENCH_MPI_IMAGES=64]
#                  (also part of `make bench`)
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c)
MPI_LIBS   := $(shell pkg-config --libs ompi-c)

# (trainer.mk, included after this file, defines the trainer's rules)
$(BUILD)/trainer/distributed.o: CPPFLAGS += $(MPI_CFLAGS)
$(BUILD)/bin/trainer: LDLIBS += $(MPI_LIBS)

TEST_SCRIPTS += test/mpi_test.sh

# The time of one in-place all-reduce of a model's gradients, on loopback.
$(BUILD)/bench/bench_allreduce: $(BUILD)/bench/bench_allreduce.o
	$(CC) $(LDFLAGS) $^ -o $@ $(MPI_LIBS)
$(BUILD)/bench/bench_allreduce.o: CPPFLAGS += $(MPI_CFLAGS)

BENCH_TARGETS += bench-mpi
# The training comparison needs real X-rays: DATA if given, else the shared
# data set when present (else only the all-reduce part runs).
BENCH_MPI_DATA := $(if $(filter command line,$(origin DATA)),$(DATA),$(wildcard ../shared/data/chest_xray))
.PHONY: bench-mpi
bench-mpi: $(BUILD)/bin/trainer $(BUILD)/bench/bench_allreduce
	BUILD=$(BUILD) bash bench/bench_mpi.sh $(BENCH_MPI_DATA)
