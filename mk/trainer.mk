# trainer.mk - the training program, its tests, and the train/evaluate/compare
# workflows.
#   make train    [MODEL=inception_v3|vgg16] [DATA=data/chest_xray] [OUT=runs/<model>] [TRAIN_ARGS=...]
#   make evaluate [MODEL_FILE=$(OUT)/model.safetensors] [SPLIT=$(DATA)/test]
#   make compare  [DATA=...] [RUNS=runs] [COMPARE_ARGS=...] [COMPARE_INCEPTION_ARGS=...]
#                 [COMPARE_VGG16_ARGS=...] (both models, one protocol -> $(RUNS)/compare.md)
# Every trainer option: $(BUILD)/bin/trainer --help

TRAINER_BIN := $(BUILD)/bin/trainer
TRAINER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard trainer/*.c))
PROGRAMS    += $(TRAINER_BIN)
TEST_SCRIPTS += test/train_test.sh

$(TRAINER_BIN): $(TRAINER_OBJ) $(LIBCNN)
	@mkdir -p $(dir $@)
	$(CC) $(OMP) $(LDFLAGS) $(TRAINER_OBJ) $(LIBCNN) -o $@ $(LDLIBS)

# Unit tests of trainer parts: each links the trainer objects it tests (the
# objects first, then the library they use).
TRAINER_TESTS := $(BUILD)/test/test_metrics $(BUILD)/test/test_early_stopping \
                 $(BUILD)/test/test_checkpoint
$(BUILD)/test/test_metrics: $(BUILD)/trainer/metrics.o
$(BUILD)/test/test_early_stopping: $(BUILD)/trainer/early_stopping.o
$(BUILD)/test/test_checkpoint: $(BUILD)/trainer/checkpoint.o
$(TRAINER_TESTS): $(BUILD)/test/%: $(BUILD)/test/%.o $(TEST_UTIL_OBJ) $(LIBCNN)
	$(CC) $(OMP) $(LDFLAGS) $(filter %.o,$^) $(LIBCNN) -o $@ $(shell pkg-config --libs check) $(LDLIBS)

# The recipes of the released results (README, Results): InceptionV3 trains
# its head on cached features, then fine-tunes mixed4-mixed7 with the
# trainer's default augmentation (the shipped model 2.0). VGG16 at 224 costs 31 GFLOP per image forward; at 64 an
# epoch takes 6 min on one core. From scratch it diverged at lr 1e-3.
RECIPE_inception_v3 := --patience 3 --cache-features --finetune-from mixed3 \
                       --finetune-lr 5e-5 --finetune-epochs 6
RECIPE_vgg16        := --patience 2 --input-size 64 --lr 1e-4 --epochs 10

MODEL      ?= inception_v3
DATA       ?= data/chest_xray
OUT        ?= runs/$(MODEL)
TRAIN_ARGS ?= $(RECIPE_$(MODEL))
MODEL_FILE ?= $(OUT)/model.safetensors
SPLIT      ?= $(DATA)/test
RUNS                   ?= runs
COMPARE_ARGS           ?=
COMPARE_INCEPTION_ARGS ?= $(RECIPE_inception_v3)
COMPARE_VGG16_ARGS     ?= $(RECIPE_vgg16)


.PHONY: train evaluate compare
train: $(TRAINER_BIN)
	$(TRAINER_BIN) train --model $(MODEL) --data $(DATA) --out $(OUT) $(TRAIN_ARGS)
	trainer/plot.sh $(OUT) val

evaluate: $(TRAINER_BIN)
	$(TRAINER_BIN) evaluate --model-file $(MODEL_FILE) --split $(SPLIT)
	trainer/plot.sh $(patsubst %/,%,$(dir $(MODEL_FILE))) $(notdir $(patsubst %/,%,$(SPLIT)))

compare: $(TRAINER_BIN)
	trainer/compare.sh $(TRAINER_BIN) $(DATA) $(RUNS) "$(COMPARE_ARGS)" \
	    "$(COMPARE_INCEPTION_ARGS)" "$(COMPARE_VGG16_ARGS)"
