# image.mk - image decoding/preprocessing/augmentation/loading: the decoder
# fuzz target and the loader benchmark.
#   make fuzz           includes fuzz/decode.c (seed corpus fuzz/corpus/decode)
#   make bench-loader   images/s of decode+resize+augment+preprocess on
#                       $$DATA/train (DATA default ../shared/data/chest_xray)
FUZZ_TARGETS  += decode
BENCH_TARGETS += bench-loader

$(BUILD)/bench/bench_loader: $(BUILD)/bench/bench_loader.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)

.PHONY: bench-loader
bench-loader: $(BUILD)/bench/bench_loader
	./$(BUILD)/bench/bench_loader
