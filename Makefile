# The workbench's build. `make` builds ./gradcheck and ./emotion at the top;
# `make check` runs the Check suite (float and double builds), the gradient
# checker, the command-line tests, the check that comparisons/torch_bench.py
# builds the same networks (skipped when $(PYTHON) has no torch) and the
# lessons in their quick mode; `make check SANITIZE=1` does the same
# under AddressSanitizer and UndefinedBehaviorSanitizer.
#
# Every library source is compiled twice from the same file: with
# real = float (build/float, for training) and real = double
# (build/double, for gradient checks). Never add the fast-math flags (gcc's fast-math or O-fast):
# the gradient checks and the NaN guards rely on IEEE arithmetic.
# -O3 rather than -O2: gcc 12 at -O2 vectorises only loops whose trip count
# it knows, which leaves ReLU, pooling and the optimizer scalar (2-3x slower).
# -O3 changes no result: with -std=c11, gcc neither reorders sums nor fuses
# a*b+c into one rounding (no contraction in ISO mode).
# -mprefer-vector-width=256: the compiler's own loops use 8-float vectors
# even where 16-float AVX-512 ones exist (gcc's choice for server CPUs, which
# it may not recognise). pool2's rows are 12 outputs long, shorter than one
# 16-float vector, and would run scalar. The matrix multiply's kernel picks
# its vector width itself (layers/gemm.c) and is not affected.

CC      ?= cc
PYTHON  ?= /usr/bin/python3
OPT     ?= -O3 -march=native -mprefer-vector-width=256
ifeq ($(SANITIZE),1)
OPT     := -O1 -march=native
endif
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes
CFLAGS  := -std=c11 -D_DEFAULT_SOURCE $(OPT) -g $(WARN) -fopenmp $(EXTRA_CFLAGS)
LDLIBS  := -lz -lm
LDFLAGS := -fopenmp

BUILD := build
ifeq ($(SANITIZE),1)
BUILD    := build/sanitize
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# the compiler and flags the build used (see the end)
BUILD_FLAGS := $(BUILD)/flags

# `make` alone builds `all`, whatever the included fragments define first.
.DEFAULT_GOAL := all
include fuzz/fuzz.mk

# The folders, from the bottom up. Each sees only the headers of the folders
# below it (and its own), so an upward #include does not compile:
#   base/     errors, random numbers, atomic files, progress bar, clock, flags
#   layers/   tensors, the layers, the network, model descriptions
#   optim/    optimizers (the Optimizer interface, SGD)
#   data/     .npz files, datasets, the loader, the synthetic faces
#   checker/  the gradient checker
#   src/      the workbench's library: training, checkpoints, metrics, charts
#   cli/      the ./emotion commands (and the gemm benchmark's main)
# Lessons, tests and the fuzzer see everything.
INC_base    := -Ibase
INC_layers  := $(INC_base) -Ilayers
INC_optim   := $(INC_layers) -Ioptim
INC_data    := $(INC_layers) -Idata
INC_checker := $(INC_layers) -Ichecker
INC_src     := $(INC_optim) -Idata -Ichecker -Isrc
INC_cli     := $(INC_src) -Icli
INC_ALL     := $(INC_cli)
# The include flags for a source path: those of its top folder.
includes_for = $(or $(INC_$(firstword $(subst /, ,$(1)))),$(INC_ALL))

# Library sources: everything except the files that hold a main().
LIB_SRC    := $(filter-out %_main.c,$(wildcard base/*.c layers/*.c optim/*.c data/*.c checker/*.c src/*.c cli/*.c))
FLOAT_OBJ  := $(LIB_SRC:%.c=$(BUILD)/float/%.o)
DOUBLE_OBJ := $(LIB_SRC:%.c=$(BUILD)/double/%.o)
TEST_SRC   := $(wildcard tests/*.c)

ifeq ($(SANITIZE),1)
GRADCHECK := $(BUILD)/gradcheck
EMOTION   := $(BUILD)/emotion
else
GRADCHECK := gradcheck
EMOTION   := emotion
endif

.PHONY: all check deps deps-tests clean lessons fuzz
all: $(GRADCHECK) $(EMOTION)

$(BUILD)/float/%.o: %.c $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call includes_for,$<) -MMD -MP -c $< -o $@

$(BUILD)/double/%.o: %.c $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call includes_for,$<) -DREAL_IS_DOUBLE -MMD -MP -c $< -o $@

$(BUILD)/libworkbench_float.a: $(FLOAT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libworkbench_double.a: $(DOUBLE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(GRADCHECK): $(BUILD)/double/checker/gradcheck_main.o $(BUILD)/libworkbench_double.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(EMOTION): $(BUILD)/float/cli/emotion_main.o $(BUILD)/libworkbench_float.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The Check suite, once per numeric type.
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

$(BUILD)/float/tests/%.o: tests/%.c $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INC_ALL) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/double/tests/%.o: tests/%.c $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INC_ALL) $(CHECK_CFLAGS) -DREAL_IS_DOUBLE -MMD -MP -c $< -o $@

$(BUILD)/tests_float: $(TEST_SRC:%.c=$(BUILD)/float/%.o) $(BUILD)/libworkbench_float.a
	$(CC) $(LDFLAGS) $^ $(CHECK_LIBS) $(LDLIBS) -o $@

$(BUILD)/tests_double: $(TEST_SRC:%.c=$(BUILD)/double/%.o) $(BUILD)/libworkbench_double.a
	$(CC) $(LDFLAGS) $^ $(CHECK_LIBS) $(LDLIBS) -o $@

# ---- lessons: `make lesson3` builds and runs lessons/lesson3.c ---------------
# Lessons that run gradient checks link the double library; the training
# lessons link the float one. lessons/lesson_common.c is shared by all.
# Those double lessons also build ./gradcheck (one more link): their text
# sends the student to it (`./gradcheck all`, `./gradcheck net`, ...).
# DATA=path/to/fer2013.npz runs them on your own data; LESSON_FLAGS adds flags.
LESSONS        := 1 2 3 4 5 6 7 8 9 10
LESSONS_DOUBLE := 2 3 4 5 6 9
LESSON_COMMON  := $(wildcard lessons/lesson_common.c)
LESSON_ARGS     = $(if $(DATA),--data $(DATA)) $(LESSON_FLAGS)

define lesson_rules
$(BUILD)/lessons/lesson$(1): lessons/lesson$(1).c $(LESSON_COMMON) $(BUILD_FLAGS) $(BUILD)/libworkbench_$(if $(filter $(1),$(LESSONS_DOUBLE)),double,float).a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(INC_ALL) $(if $(filter $(1),$(LESSONS_DOUBLE)),-DREAL_IS_DOUBLE) -Ilessons $$(LDFLAGS) $$(filter %.c,$$^) $$(filter %.a,$$^) $$(LDLIBS) -o $$@
lesson$(1): $(BUILD)/lessons/lesson$(1) $(EMOTION) $(if $(filter $(1),$(LESSONS_DOUBLE)),$(GRADCHECK))
	./$(BUILD)/lessons/lesson$(1) $$(LESSON_ARGS)
endef
$(foreach n,$(LESSONS),$(eval $(call lesson_rules,$(n))))

.PHONY: $(addprefix lesson,$(LESSONS)) lessons lessons-quick check-guides check-guides-all
lessons: $(addprefix $(BUILD)/lessons/lesson,$(LESSONS)) $(EMOTION) $(GRADCHECK)
	@for n in $(LESSONS); do ./$(BUILD)/lessons/lesson$$n $(LESSON_ARGS) || exit 1; done

# Every lesson in its quick mode (small data, few steps): part of `make check`.
lessons-quick: $(addprefix $(BUILD)/lessons/lesson,$(LESSONS)) $(EMOTION)
	@passed=0; failed=0; for n in $(LESSONS); do \
	    if ./$(BUILD)/lessons/lesson$$n --quick $(LESSON_ARGS) >$(BUILD)/lessons/lesson$$n.log 2>&1; then \
	        echo "lesson$$n (quick): ok"; passed=$$((passed + 1)); \
	    else echo "lesson$$n (quick): FAILED"; tail -20 $(BUILD)/lessons/lesson$$n.log; failed=$$((failed + 1)); fi; \
	done; echo "lessons: $$passed passed, $$failed failed"; [ $$failed = 0 ]

# The figures the teacher's guides quote as exact (lessons/guide/*.md, between
# <!-- exact: ... --> markers) against what the lessons print, and those they
# give as ranges (<!-- range: ... -->) against the ranges, on the default
# data: the fast lessons in full, the long ones until their training begins.
# Part of `make check` (not of the sanitizer run, which already runs every
# lesson in quick mode: the sanitizers change no figure, only the time).
# check-guides-all also checks the figures that need a long run (lesson 9's
# trainings, lessons 7 and 8's, lesson 10's section 4: minutes).
check-guides: $(addprefix $(BUILD)/lessons/lesson,$(LESSONS)) $(EMOTION)
	@sh lessons/check_guides.sh $(BUILD)
check-guides-all: $(addprefix $(BUILD)/lessons/lesson,$(LESSONS)) $(EMOTION)
	@sh lessons/check_guides.sh --all $(BUILD)

# ---- the main job: train the emotion CNN on the built-in synthetic faces
# (generated on first use), then evaluate the best checkpoint on the test
# split. Leaves runs/emotion/{model,best}.npz, metrics.csv, loss.png,
# accuracy.png and confusion.png. TRAIN_FLAGS adds flags (e.g. --epochs 3),
# TRAIN_OUT changes the directory.
TRAIN_OUT ?= runs/emotion
.PHONY: train
train: deps
	@$(MAKE) --no-print-directory all
	./$(EMOTION) train --out $(TRAIN_OUT) $(TRAIN_FLAGS)
	./$(EMOTION) eval --model $(TRAIN_OUT)/best.npz --split test --chart $(TRAIN_OUT)/confusion.png

# ---- the recommended model on the real FER2013 (bring your own copy):
#     make fer2013 FER2013=path/to/fer2013.npz    (or fer2013.csv: converted first)
# trains models/fer2013.net with FER2013_RECIPE into FER2013_OUT, then
# evaluates best.npz on the val and (if the file has it) test splits; see
# scripts/fer2013.sh. The recipe lives here and only here; the README
# quotes it. The paths reach the script through the environment, never
# through a shell command line.
FER2013_OUT ?= runs/fer2013
# --time-budget 55: as many epochs as fit in 55 minutes (at most 60), so that
# the whole of make fer2013 (build, training, evaluation) ends within the
# hour on a slower day too, and a faster one trains longer.
# Flips and shifts, no rotations or zooms (--rotate 10 --scale 0.1 until
# session 14): without them the network learns faster, which the ~20 epochs
# of an AVX2-only machine's hour needed through im2col (22 epochs: 67.7%
# against 66.6% on validation; with Winograd since session 20, about 26-30),
# and over 57 epochs it loses nothing (68.3% both ways).
FER2013_RECIPE ?= --epochs 60 --time-budget 55 --optimizer nesterov --lr 0.05 --schedule cosine \
                  --warmup 1 --shift 4 --label-smoothing 0.1
.PHONY: fer2013
fer2013: export FER2013_FILE = $(FER2013)
fer2013: export FER2013_DIR = $(FER2013_OUT)
fer2013: export FER2013_RECIPE := $(FER2013_RECIPE)
fer2013: export EMOTION_BIN = ./$(EMOTION)
# measured on this network (2-core AMD EPYC): 341 img/s with passive waiting,
# 283 with OpenMP's default spinning threads
fer2013: export OMP_WAIT_POLICY ?= passive
fer2013: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/fer2013.sh

# Installs Check, pkg-config and zlib when they are missing (as root), or
# prints the command to do so; for the tests, numpy too (an independent
# reference some tests compare against; they are skipped without it).
deps:
	@sh scripts/install-deps

deps-tests:
	@sh scripts/install-deps --tests

# Passive waiting: tests run many tiny parallel regions, which spinning
# threads would slow to a crawl on a busy machine.
check: export OMP_WAIT_POLICY = passive
check: deps-tests
	@$(MAKE) --no-print-directory $(BUILD)/tests_float $(BUILD)/tests_double $(GRADCHECK) $(EMOTION) \
		$(addprefix $(BUILD)/lessons/lesson,$(LESSONS))
	@echo "== unit tests, float build"
	@CK_DEFAULT_TIMEOUT=600 ./$(BUILD)/tests_float
	@echo "== unit tests, double build"
	@CK_DEFAULT_TIMEOUT=600 ./$(BUILD)/tests_double
	@echo "== command-line tests"
	@sh tests/cli.sh ./$(GRADCHECK) ./$(EMOTION)
	@echo "== the PyTorch comparison builds the same networks (skipped without torch)"
	@sh tests/comparisons.sh ./$(EMOTION) $(PYTHON)
	@echo "== lessons, quick mode"
	@$(MAKE) --no-print-directory lessons-quick
ifneq ($(SANITIZE),1)
	@echo "== the guides' exact figures and ranges"
	@$(MAKE) --no-print-directory check-guides
endif

clean:
	rm -rf build gradcheck emotion

include src/gemm_bench.mk
include exercises/grade.mk

# What the files in $(BUILD) were compiled with. When it changes (make
# OPT=..., EXTRA_CFLAGS=..., CC=...), everything is compiled again: make
# looks only at dates, and would otherwise link the objects of the last
# build with whatever was edited since, compiled another way (the AVX2
# kernel beside AVX-512 objects, and a test run believed to be of one).
BUILD_FLAGS_TEXT := $(CC) $(CFLAGS) | $(LDFLAGS) | $(STUDENT_CFLAGS) | $(STUDENT_LDFLAGS)
BUILD_FLAGS_WERE := $(file <$(BUILD_FLAGS))
ifneq ($(BUILD_FLAGS_TEXT),$(BUILD_FLAGS_WERE))
$(shell mkdir -p $(BUILD))
$(file >$(BUILD_FLAGS),$(BUILD_FLAGS_TEXT))
endif

-include $(shell find build -name '*.d' 2>/dev/null)
