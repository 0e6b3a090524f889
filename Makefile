# InterFormer-C build. `make` builds the libraries (static and shared), the
# tools, the CLI and its default model; `make install PREFIX=... [DESTDIR=...]`
# installs them; `make test` runs every test (C unit tests, sanitizer runs,
# golden parity, Python tests, the CLI, an installed-package check).

CC      ?= cc
PYTHON  ?= /usr/bin/python3
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
# The rules of every C compile: ISO C11, warnings as errors, and products
# and sums rounded where the code writes them (-ffp-contract=off: no a*b+c
# fused into an FMA behind the code's back; the kernels' results are
# compared exactly across instruction sets). Set here once, for gcc and clang.
CRULES   = -std=c11 -ffp-contract=off -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -I.
LDLIBS  += -lm -lpthread
# stb_image (the CLI, if-golden, mask_dump): Debian's libstb; the Windows build
# links its own compile of the header instead (test-windows).
STB_LIBS ?= -lstb
CXX     ?= g++

# Packaging: `make install PREFIX=... [DESTDIR=...]`.
VERSION   := 0.1.0
SOVERSION := 0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR   ?= $(PREFIX)/share/interformer
SHLIB      = $(BUILD)/libinterformer.so

# SIMD kernels (kernels/x86/) only on x86-64 targets, with no extra flags:
# each file sets its instruction set in the code (kernels/x86/target.h), the
# rest of the library stays baseline x86-64, and the run-time dispatcher only
# calls them on CPUs that have them.
# The NEON kernels (kernels/arm/) only on AArch64 targets, with no extra
# flags: Advanced SIMD is part of the base architecture there.
TARGET_MACHINE := $(shell $(CC) -dumpmachine)
X86_SRC := $(if $(filter x86_64-% amd64-%,$(TARGET_MACHINE)),$(sort $(wildcard kernels/x86/*.c)))
ARM_SRC := $(if $(filter aarch64-% arm64-%,$(TARGET_MACHINE)),$(sort $(wildcard kernels/arm/*.c)))
LIB_SRC := interformer.c $(sort $(wildcard platform/*.c format/*.c runtime/*.c runtime/ops/*.c session/*.c output/*.c kernels/*.c kernels/scalar/*.c kernels/generic/*.c)) $(X86_SRC) $(ARM_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/%)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/%)

# Sanitizer build of the same sources, in its own directory.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all lib tools tests test test-c test-cxx test-san test-tsan test-arm test-golden test-py test-windows clean
.PHONY: shared examples models default-model test-install test-cli-san install uninstall
.PHONY: format check-format
# `make`: both libraries, the tools, the examples (the CLI among them) and the
# CLI's default model: enough for ./build/interformer to run right away.
all: lib shared tools examples default-model
lib: $(BUILD)/libinterformer.a
shared: $(SHLIB)
examples: $(BUILD)/if-golden $(BUILD)/interformer
tools: $(TOOL_BIN)
tests: $(TEST_BIN)

# Library objects are always position-independent: the same objects make
# libinterformer.a and libinterformer.so.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CRULES) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/libinterformer.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The shared library exports the public API only (if_ followed by a letter:
# not the library's internal if__ helpers). Soname libinterformer.so.0.
$(BUILD)/libinterformer.map:
	@mkdir -p $(dir $@)
	printf '{\n  global: if_[a-z]*;\n  local: *;\n};\n' > $@
$(SHLIB).$(VERSION): $(LIB_OBJ) $(BUILD)/libinterformer.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libinterformer.so.$(SOVERSION) \
	  -Wl,--version-script=$(BUILD)/libinterformer.map $(LIB_OBJ) -o $@ -lm -lpthread
$(SHLIB).$(SOVERSION): $(SHLIB).$(VERSION)
	ln -sf $(notdir $<) $@
$(SHLIB): $(SHLIB).$(SOVERSION)
	ln -sf $(notdir $<) $@

$(BUILD)/test_%: tests/test_%.c $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CRULES) $(LDFLAGS) $< $(BUILD)/libinterformer.a -o $@ $(LDLIBS)

$(BUILD)/if-%: tools/if-%.c $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CRULES) $(LDFLAGS) $< $(BUILD)/libinterformer.a -o $@ $(LDLIBS)

# if-golden (golden parity, `make test-golden`) also reads images and .npy
# files: the examples' readers (examples/common/) and stb_image. Its own rule
# overrides the pattern above.
EX_COMMON := $(sort $(wildcard examples/common/*.c))
$(BUILD)/if-golden: tools/if-golden.c $(EX_COMMON) $(wildcard examples/common/*.h) $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) -Iexamples -DIF_SOURCE_DIR='"$(CURDIR)"' $(CFLAGS) $(CRULES) $(LDFLAGS) $< $(EX_COMMON) $(BUILD)/libinterformer.a -o $@ $(STB_LIBS) $(LDLIBS)

test: check-format check-single-header test-c test-cxx test-san test-tsan test-arm test-golden test-py test-cli-san test-install test-fuzz test-single-header test-windows test-web

# Models converted from the project's copy of the small golden case; the
# runtime tests run on them. Shared by the plain and sanitizer builds.
MODELS := build/models
GOLDEN_COPY := tests/data/golden
$(MODELS)/tiny_vit.decoder.ifg: $(GOLDEN_COPY)/tiny_vit/model.pth $(wildcard converter/*.py converter/*/*.py)
	@mkdir -p $(MODELS)
	$(PYTHON) -m converter $< -o $(MODELS) --name tiny_vit
# The same with f16 weights: test_f16_weights runs it with its LINEAR
# weights kept f16 and widened at load.
$(MODELS)/tiny_vit_f16.decoder.ifg: $(GOLDEN_COPY)/tiny_vit/model.pth $(wildcard converter/*.py converter/*/*.py)
	@mkdir -p $(MODELS)
	$(PYTHON) -m converter $< -o $(MODELS) --name tiny_vit_f16 --weights f16
# The bundled default model of the CLI: the demo model trained here
# (models/README.md), committed as converted graph files.
$(MODELS)/default.decoder.ifg: models/demo.encoder.ifg models/demo.decoder.ifg
	@mkdir -p $(MODELS)
	cp models/demo.encoder.ifg $(MODELS)/default.encoder.ifg
	cp models/demo.decoder.ifg $(MODELS)/default.decoder.ifg
default-model: $(MODELS)/default.decoder.ifg
models: $(MODELS)/tiny_vit.decoder.ifg $(MODELS)/default.decoder.ifg
UNIT_TESTS := $(filter-out $(BUILD)/test_runtime,$(TEST_BIN))

UNIT_TESTS := $(filter-out $(BUILD)/test_session $(BUILD)/test_threads $(BUILD)/test_f16_weights,$(UNIT_TESTS))

# The session test replays a golden case from its clicks; it reads .npy files
# with the examples' reader.
$(BUILD)/test_session: tests/test_session.c examples/common/npy.c $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) -Iexamples $(CFLAGS) $(CRULES) $(LDFLAGS) $< examples/common/npy.c $(BUILD)/libinterformer.a -o $@ $(LDLIBS)

# Plain optimised build: every C test binary.
test-c: $(TEST_BIN) $(TOOL_BIN) $(MODELS)/tiny_vit.decoder.ifg $(MODELS)/default.decoder.ifg $(MODELS)/tiny_vit_f16.decoder.ifg
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done
	$(BUILD)/test_runtime $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(BUILD)/test_f16_weights $(MODELS)/tiny_vit_f16.encoder.ifg $(MODELS)/tiny_vit_f16.decoder.ifg
	$(BUILD)/test_session $(GOLDEN_COPY)/tiny_vit $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(BUILD)/test_threads $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg

# Two sessions in two threads over one model, under ThreadSanitizer.
TSAN_FLAGS = -O1 -g -fsanitize=thread
test-tsan: $(MODELS)/tiny_vit.decoder.ifg
	$(MAKE) --no-print-directory BUILD=$(BUILD)-tsan CC=clang CFLAGS="$(TSAN_FLAGS)" LDFLAGS="-fsanitize=thread" $(BUILD)-tsan/test_threads $(BUILD)-tsan/test_threadpool
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)-tsan/test_threadpool
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)-tsan/test_threads $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-san:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-san CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" test-c

# Parity with the official model: every golden case, end to end, with the
# sanitizer build (so a memory error or leak fails it too). The full set
# lives in ../shared/golden; a plain clone has the two small cases.
SHARED_GOLDEN ?= ../shared/golden
GOLDEN_DIR := $(if $(wildcard $(SHARED_GOLDEN)/README.md),$(SHARED_GOLDEN),$(GOLDEN_COPY))
GOLDEN_CASES := $(patsubst %/model.pth,%,$(sort $(wildcard $(GOLDEN_DIR)/*/model.pth)))
test-golden:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-san CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" $(BUILD)-san/if-golden
	@if [ "$(GOLDEN_DIR)" = "$(GOLDEN_COPY)" ]; then \
	  echo "SKIP light_decoder, tiny_decoder_zoom: $(SHARED_GOLDEN) not found (only the small cases are in the project)"; fi
	@set -e; for c in $(GOLDEN_CASES); do echo "== golden $$c"; $(BUILD)-san/if-golden $$c; done
	$(MAKE) --no-print-directory BUILD=$(BUILD)-san CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" $(BUILD)-san/test_session
	@set -e; for c in $(GOLDEN_CASES); do n=$$(basename $$c); \
	  echo "== session replay $$c"; mkdir -p $(MODELS)/golden; \
	  $(PYTHON) -m converter $$c/model.pth -o $(MODELS)/golden --name $$n >/dev/null; \
	  $(BUILD)-san/test_session $$c $(MODELS)/golden/$$n.encoder.ifg $(MODELS)/golden/$$n.decoder.ifg; done
	@# The planner and the fused chains on a graph that zooms in (ROI clicks):
	@# the runtime tests on the zoom-in case's model, when it is here.
	$(MAKE) --no-print-directory BUILD=$(BUILD)-san CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" $(BUILD)-san/test_runtime
	@set -e; for c in $(filter %_zoom,$(GOLDEN_CASES)); do n=$$(basename $$c); \
	  echo "== runtime tests on $$n"; \
	  $(BUILD)-san/test_runtime $(MODELS)/golden/$$n.encoder.ifg $(MODELS)/golden/$$n.decoder.ifg \
	    >$(BUILD)-san/test_runtime.$$n.log 2>&1 && tail -n 3 $(BUILD)-san/test_runtime.$$n.log || \
	    { cat $(BUILD)-san/test_runtime.$$n.log; exit 1; }; done

# AArch64: cross-compiled (static, so qemu needs no sysroot) and run under
# qemu-aarch64: the kernel tests of every ISA the build has, the runtime
# tests and a golden case replayed through the session API.
ARM_CC ?= aarch64-linux-gnu-gcc
ARM_BUILD := $(BUILD)-arm
QEMU ?= qemu-aarch64
# (test_ifg_inspect runs the host if-inspect binary: not an ISA question.
# test_edit's few hundred decoder runs on the demo model take over ten
# minutes under qemu; what it tests, the session's bookkeeping, is the same
# on every ISA, and the sessions' ARM kernels are run by test_session.)
ARM_UNIT := $(patsubst $(BUILD)/%,$(ARM_BUILD)/%,$(filter-out $(BUILD)/test_ifg_inspect $(BUILD)/test_edit,$(UNIT_TESTS)))
test-arm: $(MODELS)/tiny_vit.decoder.ifg $(MODELS)/default.decoder.ifg $(MODELS)/tiny_vit_f16.decoder.ifg
	$(MAKE) --no-print-directory BUILD=$(ARM_BUILD) CC=$(ARM_CC) AR=aarch64-linux-gnu-ar LDFLAGS=-static $(ARM_BUILD)/test_session $(ARM_BUILD)/test_runtime $(ARM_BUILD)/test_f16_weights $(ARM_UNIT)
	@set -e; for t in $(ARM_UNIT); do echo "== qemu $$t"; $(QEMU) $$t; done
	$(QEMU) $(ARM_BUILD)/test_runtime $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(QEMU) $(ARM_BUILD)/test_f16_weights $(MODELS)/tiny_vit_f16.encoder.ifg $(MODELS)/tiny_vit_f16.decoder.ifg
	$(QEMU) $(ARM_BUILD)/test_session $(GOLDEN_COPY)/tiny_vit $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(MAKE) --no-print-directory BUILD=$(ARM_BUILD) CC=$(ARM_CC) AR=aarch64-linux-gnu-ar LDFLAGS=-static $(ARM_BUILD)/op_run
	IF_OP_RUNNER="$(QEMU) $(ARM_BUILD)/op_run" IF_OP_ISAS="scalar generic neon" $(PYTHON) -m pytest -q tests/test_ops.py

# Windows: cross-built with MinGW-w64 (Debian's gcc-mingw-w64-x86-64, its
# posix thread model: winpthreads) and linked statically, so the .exe files
# need no DLL, then run under Wine in a private prefix under the build dir
# (made on the first run): the unit tests that are not about Linux itself,
# the runtime, session and thread tests, a golden case (if-golden on the
# graphs converted here: the converter is Python) and the CLI, whose mask
# must equal the native CLI's byte for byte, once more through UTF-8 file
# names, and a program on the single header (dist/interformer.h), whose
# masks must equal the native library's. stb_image is compiled from
# Debian's header (examples/stb_image_impl.c).
# -muse-unaligned-vector-move: GCC cannot align the stack to 32 bytes on
# 64-bit Windows (GCC bug 54412); the assembler makes every aligned vector
# move an unaligned one, so a spilled AVX register cannot fault.
WIN_CC ?= x86_64-w64-mingw32-gcc-posix
WIN_AR ?= x86_64-w64-mingw32-ar
WIN_BUILD := $(BUILD)-win
WINE ?= $(firstword $(wildcard /usr/lib/wine/wine64) wine64)
STB_INCLUDE ?= /usr/include
WIN_RUN = WINEPREFIX=$(abspath $(WIN_BUILD))/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" LC_ALL=C.UTF-8 $(WINE)
WIN_MAKE = $(MAKE) --no-print-directory BUILD=$(WIN_BUILD) CC=$(WIN_CC) AR=$(WIN_AR) LDFLAGS=-static \
  CFLAGS="$(OPT) -g -Wa,-muse-unaligned-vector-move -idirafter $(WIN_BUILD)/stb-include" \
  STB_LIBS=$(WIN_BUILD)/stb_image.o
# (test_ifg_inspect runs the host's if-inspect; test_memory runs below, on $(MODELS).)
WIN_UNIT := $(patsubst $(BUILD)/%,$(WIN_BUILD)/%,$(filter-out $(BUILD)/test_ifg_inspect $(BUILD)/test_memory,$(UNIT_TESTS)))
WIN_CLICKS = --click 100,120,+ --click 100,70,+ --click 145,120,+ --click 235,79,-
$(WIN_BUILD)/stb_image.o: examples/stb_image_impl.c
	@mkdir -p $(WIN_BUILD)/stb-include
	ln -sfn $(STB_INCLUDE)/stb $(WIN_BUILD)/stb-include/stb
	$(WIN_CC) $(OPT) -idirafter $(WIN_BUILD)/stb-include -c $< -o $@
test-windows: $(MODELS)/tiny_vit.decoder.ifg $(MODELS)/default.decoder.ifg $(BUILD)/interformer $(WIN_BUILD)/stb_image.o dist/interformer.h
	$(WIN_MAKE) $(WIN_UNIT) $(WIN_BUILD)/test_runtime $(WIN_BUILD)/test_session $(WIN_BUILD)/test_threads \
	  $(WIN_BUILD)/test_memory $(WIN_BUILD)/if-golden $(WIN_BUILD)/interformer
	@dlls=$$($(WIN_CC:gcc-posix=objdump) -p $(WIN_BUILD)/interformer.exe | sed -n 's/^\tDLL Name: //p' | tr '\n' ' '); \
	  echo "interformer.exe imports: $$dlls"; case "$$dlls" in *pthread*|*libgcc*|*stdc++*) echo "not static"; exit 1;; esac
	@mkdir -p $(WIN_BUILD)/wine; [ -f $(WIN_BUILD)/wine/system.reg ] || { echo "== making the Wine prefix $(WIN_BUILD)/wine"; \
	  $(WIN_RUN) wineboot -i >/dev/null 2>&1 || true; }
	@set -e; for t in $(WIN_UNIT); do echo "== wine $$t.exe"; $(WIN_RUN) $$t.exe; done
	$(WIN_RUN) $(WIN_BUILD)/test_runtime.exe $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(WIN_RUN) $(WIN_BUILD)/test_session.exe $(GOLDEN_COPY)/tiny_vit $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(WIN_RUN) $(WIN_BUILD)/test_threads.exe $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(WIN_RUN) $(WIN_BUILD)/test_memory.exe $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg
	$(WIN_RUN) $(WIN_BUILD)/if-golden.exe $(GOLDEN_COPY)/tiny_vit --threads 2 \
	  --encoder $(MODELS)/tiny_vit.encoder.ifg --decoder $(MODELS)/tiny_vit.decoder.ifg
	rm -rf $(WIN_BUILD)/cli && mkdir -p $(WIN_BUILD)/cli && cp examples/data/shapes.png $(WIN_BUILD)/cli/fïgure-形.png
	$(BUILD)/interformer segment examples/data/shapes.png --model $(MODELS)/default $(WIN_CLICKS) -o $(WIN_BUILD)/cli/native.png
	$(WIN_RUN) $(WIN_BUILD)/interformer.exe segment examples/data/shapes.png --model $(MODELS)/default $(WIN_CLICKS) \
	  -o $(WIN_BUILD)/cli/wine.png
	cmp $(WIN_BUILD)/cli/native.png $(WIN_BUILD)/cli/wine.png
	$(WIN_RUN) $(WIN_BUILD)/interformer.exe segment $(WIN_BUILD)/cli/fïgure-形.png --model $(MODELS)/default \
	  $(WIN_CLICKS) -o $(WIN_BUILD)/cli/mäsk-形.png
	$(WIN_RUN) $(WIN_BUILD)/interformer.exe segment $(WIN_BUILD)/cli/fïgure-形.png --model $(MODELS)/default \
	  $(WIN_CLICKS) -o $(WIN_BUILD)/cli/mäsk-形.png
	cmp $(WIN_BUILD)/cli/native.png $(WIN_BUILD)/cli/mäsk-形.png
	$(WIN_CC) -std=c11 -O2 -Wall -Wextra -Werror -static -DSINGLE_HEADER -Idist tests/single_header_app.c \
	  -o $(WIN_BUILD)/single_header_app.exe
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CRULES) $(LDFLAGS) tests/single_header_app.c $(BUILD)/libinterformer.a \
	  -o $(WIN_BUILD)/lib-app $(LDLIBS)
	$(WIN_BUILD)/lib-app $(MODELS)/default.encoder.ifg $(MODELS)/default.decoder.ifg $(WIN_BUILD)/masks-native.bin
	$(WIN_RUN) $(WIN_BUILD)/single_header_app.exe $(MODELS)/default.encoder.ifg $(MODELS)/default.decoder.ifg \
	  $(WIN_BUILD)/masks-wine.bin
	cmp $(WIN_BUILD)/masks-native.bin $(WIN_BUILD)/masks-wine.bin
	@echo "test-windows: every test passed under Wine; the CLI's and the single header's masks equal the native ones"

# tests/test_cli.py runs $(BUILD)/interformer on the models above;
# test_next_click.py and test_eval.py call libinterformer.so through ctypes
# (without it they skip, as a fresh clone's CI once did unnoticed).
# tests/test_mask.py runs the examples' mask reader through $(BUILD)/mask_dump.
$(BUILD)/mask_dump: tests/mask_dump.c examples/common/mask.c examples/common/mask.h $(BUILD)/libinterformer.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iexamples $(CFLAGS) $(CRULES) $(LDFLAGS) tests/mask_dump.c examples/common/mask.c $(BUILD)/libinterformer.a -o $@ $(STB_LIBS) $(LDLIBS)
# tests/test_ops.py (the op-level tier) runs every operator through $(BUILD)/op_run.
$(BUILD)/op_run: tests/op_run.c examples/common/npy.c $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) -Iexamples $(CFLAGS) $(CRULES) $(LDFLAGS) $< examples/common/npy.c $(BUILD)/libinterformer.a -o $@ $(LDLIBS)
test-py: $(BUILD)/op_run
test-py: tools shared $(BUILD)/interformer $(BUILD)/mask_dump models
	IF_BUILD=$(BUILD) $(PYTHON) -m pytest -q tests

# The Python binding (python/, README "Python"; its tests are in test-py's
# run too): `make test-python` runs them alone; `make python-package` puts
# the shared library into the package (python/interformer/libinterformer.so,
# gitignored) so that `pip install ./python` ships it.
.PHONY: test-python python-package
test-python: shared $(BUILD)/interformer models
	IF_BUILD=$(BUILD) $(PYTHON) -m pytest -q tests/test_python.py tests/test_python_serve.py
python-package: shared
	cp $(SHLIB).$(VERSION) python/interformer/libinterformer.so.tmp
	mv -f python/interformer/libinterformer.so.tmp python/interformer/libinterformer.so

# The CLI tests (and eval's, the mask reader's and the COCO JSON output's) again on the sanitizer build: a leak or memory error fails them.
# (The demo model's full GrabCut run, a quality check, runs in test-py only:
# under the sanitizers it takes minutes; the GrabCut smoke run stays.)
test-cli-san: models
	$(MAKE) --no-print-directory BUILD=$(BUILD)-san CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" $(BUILD)-san/interformer $(BUILD)-san/mask_dump
	IF_BUILD=$(BUILD)-san $(PYTHON) -m pytest -q tests/test_cli.py tests/test_eval.py tests/test_mask.py tests/test_coco.py -k "not demo_model_on_grabcut"

# The library as C++ (the single header's implementation may be compiled in
# a C++ file): every library source, syntax only, through the object rule
# above (so with whatever flags it gives a file) with C++ rules instead of
# CRULES, into $(BUILD)-cxx/<check>/; then interformer.h alone. g++ in
# C++11, 17 and 20 and clang++ in C++17 on this machine's sources; the
# AArch64 ones (kernels/arm/ instead of kernels/x86/) with the cross g++
# (scripts/deps.sh test) in C++11 and 20 and clang++ --target in C++17.
# gxx17-O2 compiles with g++ -O2 for the warnings only the optimiser
# gives. What C and C++ spell differently is in kernels/compat.h.
CXX_RULES = -Wall -Wextra -Werror -Wshadow
ARM_CXX ?= aarch64-linux-gnu-g++
CXX_CHECKS := gxx11 gxx17 gxx20 clangxx17 gxx17-O2 arm-gxx11 arm-gxx20 arm-clangxx17
CXX_CC_gxx11 := g++
CXX_CC_gxx17 := g++
CXX_CC_gxx20 := g++
CXX_CC_clangxx17 := clang++
CXX_CC_gxx17-O2 := g++
CXX_CC_arm-gxx11 = $(ARM_CXX)
CXX_CC_arm-gxx20 = $(ARM_CXX)
CXX_CC_arm-clangxx17 := clang++ --target=aarch64-linux-gnu
CXX_STD = c++$(patsubst %-O2,%,$(lastword $(subst x, ,$*)))
CXX_OPT = $(if $(filter %-O2,$*),-O2,-fsyntax-only)
.PHONY: test-cxx cxx-lib $(CXX_CHECKS:%=test-cxx-%)
cxx-lib: $(LIB_OBJ)
test-cxx: $(CXX_CHECKS:%=test-cxx-%)
	@echo "test-cxx: every library source and interformer.h compile as C++ ($(CXX_CHECKS))"
$(CXX_CHECKS:%=test-cxx-%): test-cxx-%:
	+$(MAKE) --no-print-directory BUILD=$(BUILD)-cxx/$* CC="$(CXX_CC_$*) -x c++" CFLAGS=$(CXX_OPT) \
	  CRULES="-std=$(CXX_STD) $(CXX_RULES)" cxx-lib
	$(CXX_CC_$*) -x c++ -std=$(CXX_STD) $(CXX_RULES) -fsyntax-only interformer.h

# Installs into a temporary prefix (and a DESTDIR staging tree), then builds
# and runs a C++ program linked statically against the installed archive and
# a C program linked against the installed shared library, both through
# pkg-config, and the installed CLI on its installed default model.
test-install: all models
	MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" tests/cpp/test_install.sh

# The C style is .clang-format's (clang-format 14, Debian's): `make format`
# applies it to every tracked C file, `make check-format` lists the files
# that differ from it and fails.
CLANG_FORMAT ?= clang-format
# (dist/ is generated: make single-header)
FORMAT_SRC = $(filter-out dist/%,$(shell git ls-files '*.c' '*.h' '*.cpp' 2>/dev/null))
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)
check-format:
	@bad=; for f in $(FORMAT_SRC); do $(CLANG_FORMAT) "$$f" | cmp -s - "$$f" || bad="$$bad $$f"; done; \
	if [ -n "$$bad" ]; then echo "not in .clang-format's style (run make format):$$bad"; exit 1; fi; \
	echo "check-format: every C file follows .clang-format"

clean:
	rm -rf $(BUILD) $(BUILD)-san $(BUILD)-tsan $(BUILD)-arm $(BUILD)-fuzz $(BUILD)-win $(WASM_BUILD)

-include $(LIB_OBJ:.o=.d)

# ------------------------------------------------------------- installing
# The installed CLI is the same program with the installed default model
# compiled in; it is relinked on every install, as PREFIX may differ.
install: lib shared default-model interformer.pc.in
	@mkdir -p $(BUILD)/install
	$(CC) $(CPPFLAGS) -Iexamples -DIF_DEFAULT_MODEL='"$(DATADIR)/models/default"' -DIF_VERSION='"$(VERSION)"' \
	  $(CFLAGS) $(CRULES) $(LDFLAGS) $(CLI_SRC) $(EX_COMMON) $(BUILD)/libinterformer.a \
	  -o $(BUILD)/install/interformer $(STB_LIBS) $(LDLIBS)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	  -e 's|@VERSION@|$(VERSION)|g' interformer.pc.in > $(BUILD)/install/interformer.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR)
	install -m 644 interformer.h $(DESTDIR)$(INCLUDEDIR)/interformer.h
	install -m 644 $(BUILD)/libinterformer.a $(DESTDIR)$(LIBDIR)/libinterformer.a
	install -m 755 $(SHLIB).$(VERSION) $(DESTDIR)$(LIBDIR)/libinterformer.so.$(VERSION)
	ln -sf libinterformer.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libinterformer.so.$(SOVERSION)
	ln -sf libinterformer.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libinterformer.so
	install -m 644 $(BUILD)/install/interformer.pc $(DESTDIR)$(LIBDIR)/pkgconfig/interformer.pc
	install -m 755 $(BUILD)/install/interformer $(DESTDIR)$(BINDIR)/interformer
	install -d $(DESTDIR)$(DATADIR)/models
	install -m 644 $(MODELS)/default.encoder.ifg $(MODELS)/default.decoder.ifg $(DESTDIR)$(DATADIR)/models/

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/interformer.h $(DESTDIR)$(LIBDIR)/libinterformer.a \
	  $(DESTDIR)$(LIBDIR)/libinterformer.so $(DESTDIR)$(LIBDIR)/libinterformer.so.$(SOVERSION) \
	  $(DESTDIR)$(LIBDIR)/libinterformer.so.$(VERSION) $(DESTDIR)$(LIBDIR)/pkgconfig/interformer.pc \
	  $(DESTDIR)$(BINDIR)/interformer $(DESTDIR)$(DATADIR)/models/default.encoder.ifg \
	  $(DESTDIR)$(DATADIR)/models/default.decoder.ifg
	rmdir $(DESTDIR)$(DATADIR)/models $(DESTDIR)$(DATADIR) 2>/dev/null || true

# Examples: built on the public API only (stb_image from libstb-dev here);
# their shared code is EX_COMMON (examples/common/, above). `make examples`
# also builds if-golden (tools/if-golden.c), as it did when it lived here.
# The CLI. Its default model is this tree's build/models/default (built by
# `make` and `make models`); $IF_MODEL overrides it at run time.
# (examples/eval.c: its eval command.)
CLI_SRC := examples/interformer.c examples/eval.c examples/batch.c
$(BUILD)/interformer: $(CLI_SRC) examples/eval.h examples/batch.h $(EX_COMMON) $(wildcard examples/common/*.h) interformer.h $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) -Iexamples -DIF_DEFAULT_MODEL='"$(CURDIR)/$(MODELS)/default"' -DIF_VERSION='"$(VERSION)"' \
	  $(CFLAGS) $(CRULES) $(LDFLAGS) $(CLI_SRC) $(EX_COMMON) $(BUILD)/libinterformer.a -o $@ $(STB_LIBS) $(LDLIBS)

# Speed against the PyTorch model and ONNX Runtime, side by side (not part of `make test`;
# needs `scripts/deps.sh bench`). Writes bench/results.json and the README table.
.PHONY: bench
bench: all $(BUILD)/if-bench $(BUILD)/if-bench-kernels
	$(PYTHON) bench/run.py

# The Light decoder's per-click time by operator group, C (IF_PROFILE=1)
# next to ONNX Runtime's profiler, 1 thread: writes docs/profile-vs-ort.md.
.PHONY: bench-profile
bench-profile: $(BUILD)/if-bench
	$(PYTHON) bench/profile.py

# ----------------------------------------------------------------- fuzzing
# libFuzzer harnesses (tests/fuzz/, README "Fuzzing"), built with clang in
# their own directory: the library instrumented for coverage
# (fuzzer-no-link) under ASan + UBSan, each harness linked with libFuzzer's
# main. Seed corpora are in tests/fuzz/corpus/<harness>/ and are only read:
# libFuzzer writes what it finds to a working corpus under the build dir.
# `make fuzz FUZZ_SECONDS=N` fuzzes every harness for N seconds;
# `make test-fuzz` (part of `make test`) is a short smoke of each.
FUZZ_BUILD := $(BUILD)-fuzz
FUZZ_HARNESSES := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN := $(FUZZ_HARNESSES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_CFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
# Smoke: every seed, then this many mutations (fewer for the session
# harness, whose inputs run the decoder several times each).
FUZZ_SMOKE_RUNS ?= 3000
# A hang or a memory blow-up is a failure too, not a slow run.
FUZZ_FLAGS ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_ENV = ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1
# stb_image (the image and mask harnesses) grows its PNG data buffer to
# what a chunk length claims, up to 2 GB, before it finds the bytes are not
# there: an untouched, transient allocation, allowed past the RSS limit.
FUZZ_STB_FLAGS = -malloc_limit_mb=4096
.PHONY: fuzz fuzz-build test-fuzz fuzz-corpus

fuzz-build: $(MODELS)/tiny_vit.decoder.ifg
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="$(FUZZ_CFLAGS)" \
	  LDFLAGS="-fsanitize=fuzzer,address,undefined" $(FUZZ_BIN)

# Per-harness extra sources: the examples' readers they test.
FUZZ_EXTRA_npy := examples/common/npy.c
FUZZ_EXTRA_mask := examples/common/mask.c
FUZZ_LIBS_image := -lstb
FUZZ_LIBS_mask := -lstb
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(BUILD)/libinterformer.a
	$(CC) $(CPPFLAGS) -Iexamples -DIF_SOURCE_DIR='"$(CURDIR)"' $(CFLAGS) $(CRULES) $(LDFLAGS) \
	  $< $(FUZZ_EXTRA_$*) $(BUILD)/libinterformer.a -o $@ $(FUZZ_LIBS_$*) $(LDLIBS)

# Each harness on its working corpus (kept between runs), seeded from the
# tree's; a crash leaves its input as $(FUZZ_BUILD)/crash-<harness>-*.
fuzz: fuzz-build
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$h; \
	  case $$h in image|mask) extra="$(FUZZ_STB_FLAGS)";; *) extra=;; esac; \
	  echo "== fuzz $$h for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$h $(FUZZ_FLAGS) $$extra -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$h- $(FUZZ_BUILD)/corpus/$$h tests/fuzz/corpus/$$h \
	    > $(FUZZ_BUILD)/fuzz-$$h.log 2>&1 || { tail -n 60 $(FUZZ_BUILD)/fuzz-$$h.log; exit 1; }; \
	  grep -h 'stat::number_of_executed_units\|stat::average_exec_per_sec' $(FUZZ_BUILD)/fuzz-$$h.log | sed "s/^/  $$h /"; \
	done

test-fuzz: fuzz-build
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  rm -rf $(FUZZ_BUILD)/smoke/$$h; mkdir -p $(FUZZ_BUILD)/smoke/$$h; \
	  case $$h in image|mask) extra="$(FUZZ_STB_FLAGS)";; *) extra=;; esac; \
	  runs=$(FUZZ_SMOKE_RUNS); [ $$h != session ] || runs=$$(($(FUZZ_SMOKE_RUNS) / 10)); \
	  echo "== fuzz smoke $$h: seeds + $$runs runs"; \
	  $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$h $(FUZZ_FLAGS) $$extra -runs=$$runs -seed=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$h- $(FUZZ_BUILD)/smoke/$$h tests/fuzz/corpus/$$h \
	    > $(FUZZ_BUILD)/smoke-$$h.log 2>&1 || { tail -n 60 $(FUZZ_BUILD)/smoke-$$h.log; exit 1; }; \
	done

# Regenerates the seed corpora (tests/fuzz/make_corpus.py says from what).
fuzz-corpus: $(BUILD)/interformer models
	$(PYTHON) tests/fuzz/make_corpus.py $(BUILD)

# ----------------------------------------------------------- single header
# dist/interformer.h: the library in one stb-style header (README "Drop-in
# (single header)"), generated by scripts/amalgamate.py from the library's
# sources for every target (kernels/x86/, kernels/arm/ and kernels/wasm/
# under their #if),
# and committed, so that a user can take the one file. `make single-header`
# makes it anew after a change to the sources; `make check-single-header`
# (part of `make test`) fails while the committed file is not what the
# sources give.
# `make test-single-header` (part of `make test`) tests the committed file:
#   - tests/test_single_header.sh: the single header alone, with no build
#     flag, in gcc and clang (C11 -Wall -Wextra -Werror, and GNU C) and
#     g++ / clang++ (C++11/17/20: SH_CXX), only the API exported (nm), the
#     allocator knob, and the masks of tests/single_header_app.c equal to
#     the library's, byte for byte, at most 1.4x its time per click;
#   - the library's runtime, session, thread and memory tests and if-golden
#     (the local golden cases) built on the single header instead of the
#     library (tests/single_header_suite.c), and run as `make test-c` and
#     `make test-golden` run them.
SH_CXX ?= g++ clang++
SH_SRC = $(filter-out kernels/x86/% kernels/arm/%,$(LIB_SRC)) $(sort $(wildcard kernels/x86/*.c kernels/arm/*.c kernels/wasm/*.c))
SH_BUILD := $(BUILD)-sh
.PHONY: single-header check-single-header test-single-header
single-header:
	@mkdir -p dist
	$(PYTHON) scripts/amalgamate.py -o dist/interformer.h interformer.h $(SH_SRC)
dist/interformer.h:
	$(MAKE) --no-print-directory single-header
check-single-header:
	@mkdir -p $(BUILD)
	@$(PYTHON) scripts/amalgamate.py -o $(BUILD)/interformer.h.fresh interformer.h $(SH_SRC)
	@cmp -s $(BUILD)/interformer.h.fresh dist/interformer.h || { \
	  echo "dist/interformer.h is not what the sources give: run 'make single-header' and commit it"; \
	  diff -u dist/interformer.h $(BUILD)/interformer.h.fresh | head -40; exit 1; }
	@echo "check-single-header: dist/interformer.h is up to date with the sources"
SH_SUITE = $(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -I. -Iexamples -Itests tests/single_header_suite.c
SH_GOLDEN := $(GOLDEN_COPY)/tiny_vit $(GOLDEN_COPY)/tiny_vit_exact
# $(call sh_run,PROGRAM,ARGS): runs $(SH_BUILD)/PROGRAM; its last line on
# success, all of its output on failure.
sh_run = $(SH_BUILD)/$(1) $(2) >$(SH_BUILD)/$(1).log 2>&1 && tail -n 1 $(SH_BUILD)/$(1).log || \
  { cat $(SH_BUILD)/$(1).log; exit 1; }
test-single-header: check-single-header $(BUILD)/libinterformer.a dist/interformer.h models
	@mkdir -p $(SH_BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CRULES) $(LDFLAGS) tests/single_header_app.c $(BUILD)/libinterformer.a \
	  -o $(SH_BUILD)/lib-app $(LDLIBS)
	SH_CXX="$(SH_CXX)" sh tests/test_single_header.sh $(SH_BUILD) $(BUILD)/libinterformer.a
	@set -e; for t in test_runtime test_threads test_memory; do \
	  echo "== $$t on the single header"; \
	  $(SH_SUITE) -DSUITE='"tests/'$$t'.c"' -o $(SH_BUILD)/suite-$$t $(LDLIBS); \
	  $(call sh_run,suite-$$t,$(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg); done
	@echo "== test_session on the single header"
	$(SH_SUITE) -DSUITE_COMMON -DSUITE='"tests/test_session.c"' -o $(SH_BUILD)/suite-test_session $(STB_LIBS) $(LDLIBS)
	@$(call sh_run,suite-test_session,$(GOLDEN_COPY)/tiny_vit $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg)
	@echo "== if-golden on the single header"
	$(SH_SUITE) -DSUITE_COMMON -DIF_SOURCE_DIR='"$(CURDIR)"' -DSUITE='"tools/if-golden.c"' \
	  -o $(SH_BUILD)/suite-if-golden $(STB_LIBS) $(LDLIBS)
	@set -e; for c in $(SH_GOLDEN); do $(call sh_run,suite-if-golden,$$c); done
	@echo "test-single-header: the runtime, session, thread, memory and golden tests pass on dist/interformer.h"

# ------------------------------------------------------------ WebAssembly
# `make wasm` (README "In the browser"): the library compiled to
# WebAssembly with Debian's Emscripten, twice: with SIMD128 (the "wasm"
# kernels, kernels/wasm/) and without (the scalar kernels: engines without
# SIMD128, and the figures beside it), each an ES module (MODULARIZE,
# EXPORT_ES6) for browsers and Node, single-threaded (no -pthread: the
# library runs its one thread on the caller's). The page of examples/web/,
# the wrapper wasm/interformer.mjs and the demo model go beside them in
# $(WASM_BUILD)/web/, a directory any static file server can serve.
# `make test-web` (part of `make test`): the WASM kernels against the
# reference in Node (tests/test_kernels_simd.c, both builds), node-segment's
# masks against the native CLI's, and the page in headless Chromium
# (tests/web/test_page.mjs, Playwright's playwright-core from npm driving
# Debian's chromium).
EMCC ?= emcc
WASM_BUILD := build-wasm
# Debian's emcc runs its JavaScript tools on the node of PATH and looks for
# Debian's node packages (acorn) in /usr/share/nodejs, which a node not
# Debian's does not search by itself.
WASM_ENV = NODE_PATH=/usr/share/nodejs$${NODE_PATH:+:$$NODE_PATH}
WASM_CFLAGS = -O3 -std=c11 -ffp-contract=off -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
  -D_POSIX_C_SOURCE=200809L -I.
WASM_LIB_SRC := $(filter-out kernels/x86/% kernels/arm/%,$(LIB_SRC)) $(sort $(wildcard kernels/wasm/*.c))
WASM_EXPORTS := malloc free if_status_str if_last_error if_model_free if_model_get_info \
  if_features_load_buffer if_features_free if_features_get_info if_features_check \
  if_session_new if_session_free if_session_undo if_session_redo if_session_redo_count \
  if_session_reset if_session_click_count if_session_mask if_session_error if_session_set_mask \
  if_annotation_new if_annotation_free if_annotation_add_object if_annotation_object \
  if_annotation_finish if_annotation_reopen if_annotation_delete if_annotation_count \
  if_annotation_id if_annotation_is_finished if_annotation_instance_map if_annotation_error \
  if_mask_rle if_rle_encode_string if_mask_bbox \
  ifw_session_add_click ifw_session_get_click ifw_model_load ifw_encode ifw_features_save if_features_save
WASM_LDFLAGS = -sMODULARIZE -sEXPORT_ES6 -sALLOW_MEMORY_GROWTH -sENVIRONMENT=web,worker,node \
  -sEXPORT_NAME=createInterFormer -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8 \
  -sEXPORTED_FUNCTIONS=$(subst $(eval) ,$(comma),$(WASM_EXPORTS:%=_%)) -sTOTAL_STACK=1048576
comma := ,
WASM_SIMD_OBJ := $(WASM_LIB_SRC:%.c=$(WASM_BUILD)/simd/%.o)
WASM_SCALAR_OBJ := $(WASM_LIB_SRC:%.c=$(WASM_BUILD)/scalar/%.o)
WASM_WEB := $(WASM_BUILD)/web
WASM_PAGE := $(wildcard examples/web/*.html examples/web/*.mjs examples/web/*.css)
.PHONY: wasm test-web
$(WASM_BUILD)/simd/%.o: %.c
	@mkdir -p $(dir $@)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) -msimd128 -MMD -MP -c $< -o $@
$(WASM_BUILD)/scalar/%.o: %.c
	@mkdir -p $(dir $@)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) -MMD -MP -c $< -o $@
$(WASM_WEB)/interformer-simd.mjs: $(WASM_SIMD_OBJ) $(WASM_BUILD)/simd/wasm/glue.o
	@mkdir -p $(dir $@)
	$(WASM_ENV) $(EMCC) -O3 -msimd128 $(WASM_LDFLAGS) $^ -o $@
$(WASM_WEB)/interformer-scalar.mjs: $(WASM_SCALAR_OBJ) $(WASM_BUILD)/scalar/wasm/glue.o
	@mkdir -p $(dir $@)
	$(WASM_ENV) $(EMCC) -O3 $(WASM_LDFLAGS) $^ -o $@
# C tests as Node programs, on each build's library: the kernels against
# the reference, the ISA tables, and the golden case replayed through the
# session API (NODERAWFS: they read the machine's files). Not test_runtime:
# it plans runs of 2 threads, which a build without pthreads refuses (the
# pool's pthread_create fails and the run is not made; nothing waits).
WASM_TESTS := test_kernels_simd test_isa_tables test_session
$(WASM_BUILD)/simd/test_%.js: tests/test_%.c $(WASM_BUILD)/simd/lib.a
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) -msimd128 -Iexamples -sALLOW_MEMORY_GROWTH -sENVIRONMENT=node -sNODERAWFS=1 \
	  -sTOTAL_STACK=4194304 $< $(if $(filter session,$*),examples/common/npy.c) $(WASM_BUILD)/simd/lib.a -o $@
$(WASM_BUILD)/scalar/test_%.js: tests/test_%.c $(WASM_BUILD)/scalar/lib.a
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) -Iexamples -sALLOW_MEMORY_GROWTH -sENVIRONMENT=node -sNODERAWFS=1 \
	  -sTOTAL_STACK=4194304 $< $(if $(filter session,$*),examples/common/npy.c) $(WASM_BUILD)/scalar/lib.a -o $@
$(WASM_BUILD)/simd/lib.a: $(WASM_SIMD_OBJ)
	@rm -f $@
	$(WASM_ENV) emar rcs $@ $^
$(WASM_BUILD)/scalar/lib.a: $(WASM_SCALAR_OBJ)
	@rm -f $@
	$(WASM_ENV) emar rcs $@ $^
wasm: $(WASM_WEB)/interformer-simd.mjs $(WASM_WEB)/interformer-scalar.mjs \
  $(WASM_TESTS:%=$(WASM_BUILD)/simd/%.js) $(WASM_TESTS:%=$(WASM_BUILD)/scalar/%.js) wasm/interformer.mjs $(WASM_PAGE) models/demo.encoder.ifg models/demo.decoder.ifg
	cp wasm/interformer.mjs $(WASM_PAGE) $(WASM_WEB)/
	mkdir -p $(WASM_WEB)/models && cp models/demo.encoder.ifg models/demo.decoder.ifg $(WASM_WEB)/models/
	cp examples/data/shapes.png $(WASM_WEB)/
-include $(WASM_SIMD_OBJ:.o=.d) $(WASM_SCALAR_OBJ:.o=.d)
# The test: the kernels (both builds; Node without its fetch, which
# Emscripten 3.1.6 would use on file paths), node-segment's masks (both
# builds) and the page's (the .iff, the scalar module, the image encoded in
# the tab) against the native CLI's for the same clicks (tests/web/
# compare_masks.py: at most 0.1% of the pixels may differ), the page's
# screenshot in $(WEB_TEST)/web-page.png (README's docs/web-page.png).
# playwright-core is installed from npm into $(WASM_BUILD)/node on the
# first run; the browser is Debian's chromium.
WEB_TEST := $(WASM_BUILD)/test-web
WEB_CLICKS := 100,120,+ 100,70,+ 145,120,+ 235,79,-
NODE ?= node
PLAYWRIGHT := $(WASM_BUILD)/node/node_modules/playwright-core/package.json
# 1.61: the last playwright-core that runs on Debian 12's Node 18 (1.62
# needs Node 20).
PLAYWRIGHT_VERSION ?= 1.61
# Without the npm registry (no network, or a proxy whose certificate the
# machine does not trust) the page's test is skipped, saying why; the rest
# of test-web runs.
$(PLAYWRIGHT):
	@mkdir -p $(WASM_BUILD)
	-npm install --prefix $(WASM_BUILD)/node --no-audit --no-fund --no-save playwright-core@$(PLAYWRIGHT_VERSION) \
	  > $(WASM_BUILD)/npm-install.log 2>&1 || { tail -n 3 $(WASM_BUILD)/npm-install.log; true; }
test-web: wasm $(BUILD)/interformer $(MODELS)/default.decoder.ifg $(MODELS)/tiny_vit.decoder.ifg $(PLAYWRIGHT)
	@set -e; for v in simd scalar; do echo "== WASM ($$v build) kernels against the reference, in Node"; \
	  $(NODE) --no-experimental-fetch $(WASM_BUILD)/$$v/test_kernels_simd.js > $(WASM_BUILD)/$$v/test_kernels_simd.log 2>&1 || \
	    { cat $(WASM_BUILD)/$$v/test_kernels_simd.log; exit 1; }; \
	  grep '^== \|^skip' $(WASM_BUILD)/$$v/test_kernels_simd.log; tail -n 1 $(WASM_BUILD)/$$v/test_kernels_simd.log; \
	  echo "== WASM ($$v build) ISA tables, the golden case through sessions"; \
	  $(NODE) --no-experimental-fetch $(WASM_BUILD)/$$v/test_isa_tables.js > $(WASM_BUILD)/$$v/test_isa_tables.log 2>&1 || \
	    { cat $(WASM_BUILD)/$$v/test_isa_tables.log; exit 1; }; tail -n 1 $(WASM_BUILD)/$$v/test_isa_tables.log; \
	  $(NODE) --no-experimental-fetch $(WASM_BUILD)/$$v/test_session.js $(GOLDEN_COPY)/tiny_vit \
	    $(MODELS)/tiny_vit.encoder.ifg $(MODELS)/tiny_vit.decoder.ifg > $(WASM_BUILD)/$$v/test_session.log 2>&1 || \
	    { cat $(WASM_BUILD)/$$v/test_session.log; exit 1; }; tail -n 1 $(WASM_BUILD)/$$v/test_session.log; done
	rm -rf $(WEB_TEST) && mkdir -p $(WEB_TEST)
	$(BUILD)/interformer encode examples/data/shapes.png -o $(WEB_TEST)/shapes.iff
	$(BUILD)/interformer segment $(WEB_TEST)/shapes.iff $(WEB_CLICKS:%=--click %) -o $(WEB_TEST)/native-iff.png
	$(BUILD)/interformer segment examples/data/shapes.png $(WEB_CLICKS:%=--click %) -o $(WEB_TEST)/native-image.png
	$(NODE) examples/web/node-segment.mjs models/demo $(WEB_TEST)/shapes.iff $(WEB_CLICKS:%=--click %) -o $(WEB_TEST)/node-simd.pgm
	$(NODE) examples/web/node-segment.mjs models/demo $(WEB_TEST)/shapes.iff $(WEB_CLICKS:%=--click %) -o $(WEB_TEST)/node-scalar.pgm --scalar
	@st=0; $(NODE) examples/web/node-segment.mjs models/demo $(WEB_TEST)/shapes.iff -o $(WEB_TEST)/x.pgm 2>/dev/null || st=$$?; \
	  [ $$st = 2 ] || { echo "node-segment with no click: status $$st, not 2"; exit 1; }; \
	  st=0; $(NODE) examples/web/node-segment.mjs models/demo $(WEB_TEST)/shapes.iff --click 320,5,+ -o $(WEB_TEST)/x.pgm 2>/dev/null || st=$$?; \
	  [ $$st = 1 ] || { echo "node-segment with a click outside the image: status $$st, not 1"; exit 1; }; \
	  echo "node-segment: usage error 2, click outside the image 1"
	$(PYTHON) tests/web/compare_masks.py $(WEB_TEST)/native-iff.png $(WEB_TEST)/node-simd.pgm
	$(PYTHON) tests/web/compare_masks.py $(WEB_TEST)/native-iff.png $(WEB_TEST)/node-scalar.pgm
	$(NODE) examples/web/node-segment.mjs models/demo $(WEB_TEST)/shapes.iff $(WEB_CLICKS:%=--click %) -o $(WEB_TEST)/node-simd.png
	$(PYTHON) tests/web/compare_masks.py $(WEB_TEST)/native-iff.png $(WEB_TEST)/node-simd.png
	@if [ ! -f $(PLAYWRIGHT) ]; then \
	  echo "SKIP the page in Chromium: npm could not install playwright-core ($(WASM_BUILD)/npm-install.log):"; \
	  { grep -m 3 -E '(ERR!|error) (code|errno|FetchError|request|network|reason)' $(WASM_BUILD)/npm-install.log || \
	    tail -n 3 $(WASM_BUILD)/npm-install.log; } 2>/dev/null | sed 's/^/  /'; \
	  echo "test-web: the WASM kernels and node-segment agree with the native library (page not tested)"; \
	else set -e; \
	  PLAYWRIGHT_DIR=$(WASM_BUILD)/node timeout 900 $(NODE) tests/web/test_page.mjs $(WASM_WEB) examples/data/shapes.png \
	    $(WEB_TEST)/shapes.iff $(WEB_TEST) $(WEB_CLICKS); \
	  $(PYTHON) tests/web/compare_masks.py $(WEB_TEST)/native-iff.png $(WEB_TEST)/page-iff.pgm; \
	  $(PYTHON) tests/web/compare_masks.py $(WEB_TEST)/native-iff.png $(WEB_TEST)/page-scalar.pgm; \
	  $(PYTHON) tests/web/compare_masks.py $(WEB_TEST)/native-image.png $(WEB_TEST)/page-encoded.pgm; \
	  echo "test-web: the WASM kernels, node-segment and the page in Chromium agree with the native library"; \
	fi
