# exercises/grade.mk: the exercises' grader (included by the Makefile).
#
#   make grade                         grades exercises/ (every topic)
#   make grade EX=conv                 one file's functions (or a function: EX=conv_backward,
#                                      or a list: EX=relu,fc; EX=im2col is the function, im2col.c the file)
#   make grade EXERCISES=DIR           a student's folder; a file missing from DIR counts as not written
#   make grade GRADE_FLAGS=--verbose   also every case's errors, and what the functions print
#   make grade GRADE_FLAGS=--help      the options (--seed, --timeout, --list, ...)
#   make grade-selftest                proves the grader (part of `make check`)
#
# The grader (exercises/grader/*.c) links the double-precision library,
# which gives the right answers. The student's files are compiled apart
# with AddressSanitizer and UBSan into a runner of their own, which the
# grader runs once per call in a child process with a time limit
# (exercises/grader/sandbox.c). -Wno-unused-parameter: the TODO blocks of
# the shipped files leave most parameters unused.

EXERCISES   ?= exercises
EX          ?=
GRADE_FLAGS ?=
GRADE_BUILD := $(BUILD)/grade
GRADER      := $(GRADE_BUILD)/grader
GRADER_SRC  := $(filter-out exercises/grader/runner_main.c,$(wildcard exercises/grader/*.c))
GRADER_OBJ  := $(GRADER_SRC:%.c=$(GRADE_BUILD)/%.o)
GRADE_RUNNER_MAIN := $(GRADE_BUILD)/runner_main.o

STUDENT_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
STUDENT_CFLAGS   := -std=c11 -D_DEFAULT_SOURCE -O1 -g $(STUDENT_SANITIZE) -Wall -Wextra \
                    -Wno-unused-parameter -I$(CURDIR)/exercises -include $(CURDIR)/exercises/exercises.h
STUDENT_LDFLAGS  := -fsanitize=address,undefined

# The folder's name, EX and GRADE_FLAGS reach grade.sh through the
# environment, unexpanded ($(value ...)): a folder may be named by a student,
# and a name like a`cmd`b or a$(shell cmd)b must stay a name, for make and for
# the shell alike. grade.sh names the folder's work directory after it.
# (Unexported too: make would expand them to put them in the environment.)
unexport EXERCISES EX GRADE_FLAGS
grade: export GRADE_EXERCISES = $(value EXERCISES)
grade: export GRADE_EX = $(value EX)
grade: export GRADE_FLAGS_TEXT = $(value GRADE_FLAGS)

$(GRADE_BUILD)/exercises/grader/%.o: exercises/grader/%.c $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INC_ALL) -DREAL_IS_DOUBLE -MMD -MP -c $< -o $@

$(GRADER): $(GRADER_OBJ) $(BUILD)/libworkbench_double.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(GRADE_RUNNER_MAIN): exercises/grader/runner_main.c exercises/exercises.h $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(STUDENT_CFLAGS) -c $< -o $@

.PHONY: grade grade-selftest
grade: $(GRADER) $(GRADE_RUNNER_MAIN)
	@CC="$(CC)" STUDENT_CFLAGS="$(STUDENT_CFLAGS)" STUDENT_LDFLAGS="$(STUDENT_LDFLAGS)" \
	    GRADE_FLAGS="$$GRADE_FLAGS_TEXT" \
	    sh exercises/grader/grade.sh $(GRADER) $(GRADE_RUNNER_MAIN) \
	    "$(GRADE_BUILD)/work/" "$$GRADE_EXERCISES" "$$GRADE_EX"

# The grader's proofs: the shipped files score 0/M with every function
# "not implemented", the solutions M/M, and every mutant (one catalogued
# mistake each) fails with its diagnosis.
# A copy handed out to students, without tests/exercises (which holds the
# solutions), skips it.
grade-selftest: $(GRADER) $(GRADE_RUNNER_MAIN)
	@if [ -f tests/exercises/selftest.sh ]; then \
	    CC="$(CC)" STUDENT_CFLAGS="$(STUDENT_CFLAGS)" STUDENT_LDFLAGS="$(STUDENT_LDFLAGS)" \
	    sh tests/exercises/selftest.sh $(GRADER) $(GRADE_RUNNER_MAIN) $(GRADE_BUILD)/selftest; \
	else echo "grade-selftest: skipped (no tests/exercises in this copy)"; fi

check: grade-selftest
