# models.mk - InceptionV3/VGG16 tooling: tools/make_model (writes an untrained
# model file for tests of ./infer and the CGI program) and the whole-network
# benchmark (`make bench` runs bench-models; PyTorch is compared, call by
# call interleaved with ours, when /usr/bin/python3 has torch and
# torchvision; BENCH_REPS repetitions, 5 by default). The network tests are
# plain test/test_*.c.
PROGRAMS += $(BUILD)/tools/make_model
$(BUILD)/tools/make_model: $(BUILD)/tools/make_model.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bench/bench_models: $(BUILD)/bench/bench_models.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)

BENCH_TARGETS += bench-models
.PHONY: bench-models
BENCH_REPS ?= 5
bench-models: $(BUILD)/bench/bench_models
	$(BUILD)/bench/bench_models --reps $(BENCH_REPS)
