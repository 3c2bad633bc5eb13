# weights.mk - weight files: the TF.js -> safetensors converter and the
# pretrained InceptionV3 backbone.
#   make weights   fetch nsfwjs@4.4.0 with npm (sha256 pinned), unwrap its
#                  InceptionV3 and convert it to
#                  weights/inception_v3_nsfwjs.safetensors (+ .tensors.json,
#                  a listing of names and shapes). A second run does nothing.
# Needs node + npm (only for `make weights`; nothing else uses them).

TFJS2ST := $(BUILD)/tools/tfjs2safetensors
PROGRAMS += $(TFJS2ST)
$(TFJS2ST): $(BUILD)/tools/tfjs2safetensors.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)

WEIGHTS_NSFWJS := weights/inception_v3_nsfwjs.safetensors

.PHONY: weights
weights: $(WEIGHTS_NSFWJS)

# The file is the target: once it exists and is newer than the scripts and
# the converter's sources, make has nothing to do (the converter binary is
# order-only, so relinking it after unrelated library changes does not
# trigger a new conversion). The npm tarball stays cached in weights/cache/.
$(WEIGHTS_NSFWJS): tools/fetch_nsfwjs.sh tools/nsfwjs_unwrap.js \
                   tools/tfjs2safetensors.c lib/tfjs.c lib/safetensors.c | $(TFJS2ST)
	bash tools/fetch_nsfwjs.sh $(TFJS2ST) $@

# The converter's command line (values are checked by test/test_tfjs.c).
TEST_SCRIPTS += test/tfjs2safetensors.sh

# `make fuzz` includes the safetensors reader (fuzz/safetensors.c).
FUZZ_TARGETS += safetensors
