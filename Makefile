# InterFormer-C build. `make` builds the library and tools, `make test` runs
# every test (C unit tests, sanitizer runs, golden parity, Python tests).

CC      ?= cc
PYTHON  ?= /usr/bin/python3
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -I.
LDLIBS  += -lm -lpthread

LIB_SRC := interformer.c $(sort $(wildcard format/*.c runtime/*.c kernels/*.c kernels/scalar/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/%)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/%)

# Sanitizer build of the same sources, in its own directory.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all lib tools tests test test-c test-san test-py clean
all: lib tools
lib: $(BUILD)/libinterformer.a
tools: $(TOOL_BIN)
tests: $(TEST_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

$(BUILD)/libinterformer.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/test_%: tests/test_%.c $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) $< $(BUILD)/libinterformer.a -o $@ $(LDLIBS)

$(BUILD)/if-%: tools/if-%.c $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) $< $(BUILD)/libinterformer.a -o $@ $(LDLIBS)

test: test-c test-san test-py

# Plain optimised build: every C test binary.
test-c: $(TEST_BIN) $(TOOL_BIN)
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; $$t; done

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-san:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-san CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" test-c

test-py: tools
	$(PYTHON) -m pytest -q tests

clean:
	rm -rf $(BUILD) $(BUILD)-san

-include $(LIB_OBJ:.o=.d)
