# input_gate.mk - the input gate's tooling (lib/input_gate.h, docs/trainer.md):
#   $(BUILD)/tools/measure_image_checks DIR...   the image checks' measures
#       over a set of X-rays: distribution, threshold, margin, refusals
PROGRAMS += $(BUILD)/tools/measure_image_checks
$(BUILD)/tools/measure_image_checks: $(BUILD)/tools/measure_image_checks.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The CGI's pages (result and refusal) link the objects they test.
GATE_WEB_TESTS := $(BUILD)/test/test_html
$(BUILD)/test/test_html: $(BUILD)/cgi-bin/html.o $(BUILD)/cgi-bin/cgi.o
$(GATE_WEB_TESTS): $(BUILD)/test/%: $(BUILD)/test/%.o $(TEST_UTIL_OBJ) $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $(filter %.o,$^) $(LIBCNN) -o $@ $(shell pkg-config --libs check) $(LDLIBS)
