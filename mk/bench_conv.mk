# bench_conv.mk - convolution benchmark (forward/backward vs raw sgemm).
#   make bench-conv     (also part of `make bench`)
BENCH_TARGETS += bench-conv

$(BUILD)/bench/bench_conv: $(BUILD)/bench/bench_conv.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)

.PHONY: bench-conv
bench-conv: $(BUILD)/bench/bench_conv
	./$(BUILD)/bench/bench_conv
