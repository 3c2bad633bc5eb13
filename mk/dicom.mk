# dicom.mk - DICOM input (lib/dicom.h, lib/dicom_decode.cc with DCMTK; the
# link flags are in the Makefile's LDLIBS, since every program that decodes
# images needs them).
#   make fuzz        includes fuzz/dicom.c (seed corpus fuzz/corpus/dicom)
# The fixtures and their expected pixels are made by
# /usr/bin/python3 test/gen_fixtures_dicom.py (needs dcmtk, python3-pydicom).
FUZZ_TARGETS += dicom
# ./infer and the CGI program on every fixture, refusals, malformed files,
# privacy (test/dicom_test.sh); the web test uploads DICOM through nginx.
TEST_SCRIPTS += test/dicom_test.sh
#   make bench-dicom  decode time of a 2500x2048 16-bit JPEG-lossless DICOM
#                     against a 16-bit PNG of the same pixels (part of
#                     `make bench`; needs dcmtk and python3-pydicom)
BENCH_TARGETS += bench-dicom
$(BUILD)/bench/bench_decode: $(BUILD)/bench/bench_decode.o $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $^ -o $@ $(LDLIBS)

.PHONY: bench-dicom
bench-dicom: $(BUILD)/bench/bench_decode
	BUILD=$(BUILD) bash bench/bench_dicom.sh
