# robustness.mk - a model on what people actually upload (docs/trainer.md,
# "Measuring a model beyond the test split"):
#   make originals   [MODEL_FILE=weights/pneumonia.safetensors]
#                    [ORIGINALS=../shared/data/chest_xray_originals/train]
#                    [COPIES=../shared/data/chest_xray/train]
#                    full-resolution originals against their copies
#                    (trainer originals; CSV in $(BUILD)/originals/)
#   make ood         [OOD_DIR=build/ood] [MODEL_FILE=...] [ORIGINALS=...]
#                    [OOD_PER_CLASS=5] the out-of-distribution set
#                    (test/gen_ood_set.py, made once) through ./infer --json:
#                    rejection rate per category
#   make border-mass [MODEL_FILE=...] [DATA=data/chest_xray] [BAND=0.125]
#                    Grad-CAM heat share in the border band over the
#                    trainer's validation split (CSV in $(BUILD)/border_mass/)
# MODEL_FILE defaults to the shipped model here (for `make evaluate` it is the
# last training run's).
ORIGINALS     ?= ../shared/data/chest_xray_originals/train
COPIES        ?= ../shared/data/chest_xray/train
OOD_DIR       ?= build/ood
OOD_PER_CLASS ?= 5
BAND          ?= 0.125
MEASURED_MODEL = $(if $(filter command line environment,$(origin MODEL_FILE)),$(MODEL_FILE),weights/pneumonia.safetensors)
PYTHON        ?= /usr/bin/python3
TEST_SCRIPTS  += test/robustness_test.sh

.PHONY: originals ood border-mass
originals: $(BUILD)/bin/trainer
	$(BUILD)/bin/trainer originals --model-file $(MEASURED_MODEL) --originals $(ORIGINALS) \
	    --copies $(COPIES) --out $(BUILD)/originals

$(OOD_DIR)/manifest.tsv: test/gen_ood_set.py
	$(PYTHON) test/gen_ood_set.py --out $(OOD_DIR) --originals $(ORIGINALS) \
	    --per-class $(OOD_PER_CLASS)

ood: $(BUILD)/bin/infer $(OOD_DIR)/manifest.tsv
	$(PYTHON) test/ood_report.py $(OOD_DIR) --infer $(BUILD)/bin/infer \
	    --model $(MEASURED_MODEL)

border-mass: $(BUILD)/bin/trainer
	$(BUILD)/bin/trainer border-mass --model-file $(MEASURED_MODEL) --data $(DATA) \
	    --band $(BAND) --out $(BUILD)/border_mass
