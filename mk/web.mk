# web.mk - ./infer, the CGI upload handler, and serving them.
#   make serve       nginx + fcgiwrap on 127.0.0.1:8080 from the working tree
#                    (SERVE_MODEL=weights/pneumonia.safetensors SERVE_PORT=8080)
#   make loadtest    4 connections for 60 s against nginx + fcgiwrap (wrk)
#   make screenshot  docs/screenshot.png of a result page (headless Chromium)
#   make fuzz        includes the multipart parser target fuzz/multipart.c
# Both are linked in $(BUILD)/bin (the tests run those, so that
# `make test SANITIZE=1` tests the sanitized programs); the optimized build
# also copies them to ./infer and cgi-bin/predict, where people and the web
# server configurations find them.
PROGRAMS += $(BUILD)/bin/infer $(BUILD)/bin/predict
ifneq ($(SANITIZE),1)
PROGRAMS += infer cgi-bin/predict
infer: $(BUILD)/bin/infer
	cp $< $@
cgi-bin/predict: $(BUILD)/bin/predict
	cp $< $@
endif
TEST_SCRIPTS += test/infer_test.sh test/web_test.sh
FUZZ_TARGETS += multipart

SERVE_MODEL ?= weights/pneumonia.safetensors
SERVE_PORT  ?= 8080

# ./infer (command line, infer-cli/) and cgi-bin/predict (the upload
# handler) share the library's analysis (lib/analysis.h).
WEB_CGI_OBJ := $(BUILD)/cgi-bin/predict.o $(BUILD)/cgi-bin/cgi.o \
               $(BUILD)/cgi-bin/html.o $(BUILD)/cgi-bin/multipart.o

$(BUILD)/bin/infer: $(BUILD)/infer-cli/infer.o $(LIBCNN)
	@mkdir -p $(dir $@)
	$(CC) $(OMP) $(LDFLAGS) $(filter %.o,$^) $(LIBCNN) -o $@ $(LDLIBS)

$(BUILD)/bin/predict: $(WEB_CGI_OBJ) $(LIBCNN)
	@mkdir -p $(dir $@)
	$(CC) $(OMP) $(LDFLAGS) $(filter %.o,$^) $(LIBCNN) -o $@ $(LDLIBS)

# Unit tests of CGI parts link the object they test (objects first, then
# the library).
WEB_TESTS := $(BUILD)/test/test_multipart $(BUILD)/test/test_cgi
$(BUILD)/test/test_multipart: $(BUILD)/cgi-bin/multipart.o
$(BUILD)/test/test_cgi: $(BUILD)/cgi-bin/cgi.o
$(WEB_TESTS): $(BUILD)/test/%: $(BUILD)/test/%.o $(TEST_UTIL_OBJ) $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $(filter %.o,$^) $(LIBCNN) -o $@ $(shell pkg-config --libs check) $(LDLIBS)

.PHONY: serve loadtest screenshot
serve: infer cgi-bin/predict
	serve/run.sh run --port $(SERVE_PORT) --model $(SERVE_MODEL)

loadtest: infer cgi-bin/predict
	MODEL=$(SERVE_MODEL) bash bench/loadtest.sh

screenshot: infer cgi-bin/predict
	bash test/screenshot.sh $(SERVE_MODEL) docs/screenshot.png
