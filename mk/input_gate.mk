# input_gate.mk - the input gate's tooling (lib/input_gate.h, docs/trainer.md):
#   $(BUILD)/tools/measure_image_checks DIR...   the image checks' measures
#       over a set of X-rays: distribution, threshold, margin, refusals
PROGRAMS += $(BUILD)/tools/measure_image_checks
$(BUILD)/tools/measure_image_checks: $(BUILD)/tools/measure_image_checks.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)
