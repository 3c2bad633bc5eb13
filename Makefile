# pneumonia-detection: top-level build.
#   make             build the library and every program (optimized)
#   make test        build and run all tests (SANITIZE=1: with ASan + UBSan)
#   make bench       performance figures (see README)
#   make clean
#   make run         set up (Debian packages, build, pretrained weights) and
#                    serve the app on http://127.0.0.1:8080/
#   make setup       the set-up part alone
#   make install     [PREFIX=/usr/local] [DESTDIR=] programs, page and model
#                    (mk/install.mk); make uninstall removes them
# CFLAGS, LDFLAGS and CC can be overridden on the command line.

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wno-unused-parameter
CPPFLAGS += -Ilib -D_GNU_SOURCE
DEPFLAGS := -MMD -MP
# OpenBLAS built for OpenMP (Debian's libopenblas0-openmp): its GEMM threads
# are the same libgomp pool as the library's own parallel loops. With the
# default pthread build both pools spin for the same cores between calls and
# a 2-thread convolution ran several times slower than a 1-thread one.
BLAS_DIR ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_LIB ?= $(BLAS_DIR)/libopenblas.so.0 -Wl,-rpath,$(BLAS_DIR)
# DICOM (lib/dicom_decode.cc, the library's one C++ file): Debian's DCMTK
# (libdcmtk-dev) - the pixel pipeline, the JPEG and JPEG-LS decoders (RLE is
# in dcmdata), the data dictionary; zlib for deflated data sets - and the
# C++ runtime.
DCMTK_LIBS ?= -ldcmimage -ldcmimgle -ldcmjpeg -ldcmjpls -ldcmdata -loflog -lofstd -lz
LDLIBS  := $(BLAS_LIB) -lcjson -lpng -ljpeg $(DCMTK_LIBS) -lstdc++ -lm -lpthread
OMP     := -fopenmp

ifeq ($(SANITIZE),1)
  # ASan + UBSan run several times slower: Check's 4 s per test is too short
  # on a loaded 2-core machine.
  export CK_TIMEOUT_MULTIPLIER ?= 5
  BUILD   := build/san
  CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
else
  BUILD   := build/opt
endif

ALL_CFLAGS = $(WARN) $(OMP) $(CFLAGS) $(DEPFLAGS)

LIB_SRC := $(wildcard lib/*.c)
LIB_CXX_SRC := $(wildcard lib/*.cc)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX_SRC:%.cc=$(BUILD)/%.o)
LIBCNN  := $(BUILD)/libcnn.a

# Check suites: every test/test_*.c is one runner, linked with test/util/*.c.
TEST_SRC      := $(wildcard test/test_*.c)
TEST_UTIL_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard test/util/*.c))
TEST_BIN      := $(TEST_SRC:test/%.c=$(BUILD)/test/%)
# Script tests (integration) that fragments in mk/ append to; run after units.
TEST_SCRIPTS  :=
# Programs that fragments add; built by `make`.
PROGRAMS      :=
BENCH_TARGETS :=
# libFuzzer targets: fuzz/<name>.c, built with clang against the library
# sources plus the files listed in fuzz/<name>.sources (if any); lib/*.cc
# is compiled on its own (C++17) and clang++ links, for the C++ runtime
# (-x c keeps the C files C).
FUZZ_TARGETS  :=
FUZZ_SECONDS  ?= 60

.PHONY: all test bench clean
# Keep the objects of pattern-built programs (tests, benches) between runs.
.SECONDARY:
all: $(LIBCNN) programs

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

# C++ (lib/*.cc) with the C flags (optimization, sanitizers) but no OpenMP;
# DCMTK's headers want C++17.
CXXSTD := -std=c++17
$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXSTD) $(CPPFLAGS) $(WARN) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBCNN): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/test/%: $(BUILD)/test/%.o $(TEST_UTIL_OBJ) $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(shell pkg-config --libs check) $(LDLIBS)

include $(wildcard mk/*.mk)

.PHONY: programs
programs: $(PROGRAMS)

# Each suite runs from the repository root so that golden paths resolve.
test: $(TEST_BIN) $(PROGRAMS)
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; CK_VERBOSITY=normal ./$$t; done
	@set -e; for s in $(TEST_SCRIPTS); do echo "== $$s"; BUILD=$(BUILD) bash $$s; done
	@echo "all tests passed"

bench: $(BENCH_TARGETS)

# apt-get needs root: install-deps.sh uses sudo when not run as root.
.PHONY: setup run
setup:
	bash scripts/install-deps.sh
	$(MAKE) all weights

run: setup
	$(MAKE) serve

# Each target runs FUZZ_SECONDS from its committed seed corpus fuzz/corpus/<name>/
# (new inputs go to a scratch copy, so the committed corpus stays small); an
# input that runs 30 s is a hang, reported as a failure.
.PHONY: fuzz
FUZZ_CXX_OBJ := $(LIB_CXX_SRC:lib/%.cc=build/fuzz/%.o)
fuzz:
	@set -e; mkdir -p build/fuzz; for s in $(LIB_CXX_SRC); do \
	  clang++ $(CXXSTD) -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(CPPFLAGS) \
	    -c $$s -o build/fuzz/$$(basename $$s .cc).o; \
	done; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/$$t.corpus; cp -r fuzz/corpus/$$t/. build/fuzz/$$t.corpus/; \
	  clang++ -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) \
	    -x c fuzz/$$t.c $(LIB_SRC) $$(cat fuzz/$$t.sources 2>/dev/null) \
	    -x none $(FUZZ_CXX_OBJ) -o build/fuzz/$$t $(LDLIBS); \
	  echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=30 -rss_limit_mb=4096 build/fuzz/$$t.corpus; \
	done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
