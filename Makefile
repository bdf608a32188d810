# Salamander build. `make` builds build/salamander; `make run` and `make test` first install
# whatever is missing (Debian packages, npm packages), then serve the demos / run every test.
# Sources are found by wildcard: add a file to a module's folder and it is built.

.DEFAULT_GOAL := all
CC       ?= gcc
BUILD    := build
ARGS     ?=
APT_PKGS := build-essential pkg-config valgrind libh2o-evloop-dev libssl-dev libjansson-dev libunwind-dev \
            libboost-context-dev libcriterion-dev chromium clang libclang-rt-14-dev binutils

WARN     := -Wall -Wextra -Werror
# `make V=1` shows every command
Q        := $(if $(V),,@)
BASE     := -std=c17 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -g -fno-omit-frame-pointer -I. -I$(BUILD)/gen $(WARN)
CFLAGS   ?= -O2
LIBS     := -lh2o-evloop -lssl -lcrypto -ljansson -lunwind -lboost_context -lpthread -ldl -lm
SAN      := -fsanitize=address,undefined
export ASAN_OPTIONS  ?= allow_user_segv_handler=1:detect_stack_use_after_return=0:use_sigaltstack=0:detect_leaks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=0

LV_SRC     := $(wildcard liveview/*.c)
SERVER_SRC := $(filter-out server/main.c server/lvctl_main.c,$(wildcard server/*.c))
LVTC_SRC   := $(wildcard templates/*.c)
TEMPLATES  := $(wildcard examples/*/*.lv.html tests/*/views/*.lv.html)
VIEW_SRC   := $(wildcard examples/*.c examples/*/*.c)
GEN_HDRS   := $(patsubst %.lv.html,$(BUILD)/gen/%.lv.h,$(TEMPLATES))
TEST_SRC   := $(wildcard tests/liveview/*_test.c tests/server/*_test.c tests/templates/*_test.c tests/examples/*_test.c)

# obj(flavor, sources): objects of one build flavor (opt or asan)
obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))
# Tests embed the views (CORE_SRC); the server loads each from its module (VIEW_MODULES) and
# links only the route table and the load demo's jobs, a service it starts before any view.
CORE_SRC   := $(LV_SRC) $(SERVER_SRC) $(VIEW_SRC)
SERVER_BIN_SRC := $(LV_SRC) $(SERVER_SRC) examples/routes.c examples/load/load_jobs.c server/main.c
VIEWS      := calculator thermostat load dashboard greeter
# module_src(view): its folder's sources, without the load jobs; the dashboard's system_stats.c
# is view code of both views that show it, so each of their modules has its own copy
module_src = $(filter-out examples/load/load_jobs.c,$(wildcard examples/$(1)/*.c)) \
             $(if $(filter load,$(1)),examples/dashboard/system_stats.c)
VIEW_MODULES := $(patsubst %,$(BUILD)/views/%.so,$(VIEWS)) $(BUILD)/views/calculator_fixed.so
MODULE_FLAGS := -fPIC -shared -fvisibility=hidden

.PHONY: fuzz
# Bounded libFuzzer runs over the frame, Phoenix-message and form parsers (FUZZ_SECONDS each).
fuzz: $(BUILD)/.apt-stamp
	./tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

.PHONY: all run test deps test-c test-js test-e2e test-templates test-valgrind clean format bench-render bench-runtime demo-test
all: $(BUILD)/salamander $(BUILD)/lvtc $(BUILD)/lvctl

# ---- set-up: packages -------------------------------------------------------------------------
$(BUILD)/.apt-stamp: Makefile
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@mkdir -p $(BUILD) && touch $@

js/node_modules/.stamp: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund
	@touch $@

deps: $(BUILD)/.apt-stamp js/node_modules/.stamp

# ---- C ----
# lvtc builds before any template exists, so its objects (build/lvtc-obj) never wait for
# generated headers; everything else does.------------------------------------------------------------------------------------
$(BUILD)/opt/%.o: %.c $(GEN_HDRS) | $(BUILD)/.apt-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE) $(CFLAGS) -MMD -MP -c $< -o $@

# The runtime's and the server's code go into their own section, so the preemption handler can
# tell runtime code (never interrupted) from application code (liveview/preempt.c).
LVRT_SECTIONS := .text .text.unlikely .text.hot .text.startup
LVRT_RENAME   := $(foreach s,$(LVRT_SECTIONS),--rename-section $(s)=lvrt,alloc,load,readonly,code,contents)

LVRT_SRC := $(LV_SRC) $(wildcard server/*.c)
$(call obj,opt,$(LVRT_SRC)): $(BUILD)/opt/%.o: %.c $(GEN_HDRS) | $(BUILD)/.apt-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE) $(CFLAGS) -MMD -MP -c $< -o $@
	@objcopy $(LVRT_RENAME) $@

$(call obj,asan,$(LVRT_SRC)): $(BUILD)/asan/%.o: %.c $(GEN_HDRS) | $(BUILD)/.apt-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE) -O1 $(SAN) -MMD -MP -c $< -o $@
	@objcopy $(LVRT_RENAME) $@

$(BUILD)/asan/%.o: %.c $(GEN_HDRS) | $(BUILD)/.apt-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE) -O1 $(SAN) -MMD -MP -c $< -o $@

LVTC_OBJ := $(patsubst %.c,$(BUILD)/lvtc-obj/%.o,$(LVTC_SRC) liveview/buf.c)
$(BUILD)/lvtc-obj/%.o: %.c | $(BUILD)/.apt-stamp
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/lvtc: $(LVTC_OBJ)
	$(CC) $^ -o $@

$(BUILD)/gen/%.lv.h: %.lv.html $(BUILD)/lvtc
	@mkdir -p $(dir $@)
	$(BUILD)/lvtc $< -o $@

# -rdynamic: the view modules it loads (at start, and by `lvctl upgrade`) call the runtime
# inside the executable
$(BUILD)/salamander: $(call obj,opt,$(SERVER_BIN_SRC)) $(BUILD)/js/.stamp $(VIEW_MODULES)
	$(CC) -rdynamic $(call obj,opt,$(SERVER_BIN_SRC)) $(LIBS) -o $@

# Every view is a shared object of its own: build/views/NAME.so, from examples/NAME/.
.SECONDEXPANSION:
$(BUILD)/views/%.so: $$(call module_src,$$*) $(GEN_HDRS) $(wildcard liveview/*.h) | $(BUILD)/.apt-stamp
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(MODULE_FLAGS) $(call module_src,$*) -o $@

# The talk's fix, built beside the buggy calculator, for `lvctl upgrade`.
$(BUILD)/views/calculator_fixed.so: examples/calculator/calculator.c $(GEN_HDRS) $(wildcard liveview/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(MODULE_FLAGS) -DLV_CALCULATOR_FIXED $< -o $@

# Three versions of one test view, for the unloading tests (tests/liveview/module_test.c).
TEST_MODULES := $(patsubst %,$(BUILD)/tests/modules/upgradable_v%.so,1 2 3) $(BUILD)/tests/modules/bad_abi.so
$(BUILD)/tests/modules/upgradable_v%.so: tests/liveview/views/upgradable.c $(GEN_HDRS) $(wildcard liveview/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE) -O1 $(MODULE_FLAGS) -DUPGRADABLE_VERSION=$* $< -o $@

$(BUILD)/tests/modules/bad_abi.so: tests/demo/bad_abi_view.c $(wildcard liveview/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE) -O1 $(MODULE_FLAGS) $< -o $@

$(BUILD)/lvctl: $(call obj,opt,server/lvctl_main.c)
	$(CC) $^ -o $@

# ---- client -----------------------------------------------------------------------------------
JS_SRC := $(wildcard js/src/*.js) js/build.mjs js/build_official.mjs
$(BUILD)/js/.stamp: $(JS_SRC) js/node_modules/.stamp
	cd js && node build.mjs ../$(BUILD)/js
	@touch $@

# ---- tests ------------------------------------------------------------------------------------
# Each C test file is its own Criterion binary, built twice: optimized and under ASan+UBSan.
# -rdynamic: the modules a test loads call the runtime inside it, as in the server.
$(BUILD)/tests/opt/%: $(call obj,opt,tests/%.c $(CORE_SRC))
	@mkdir -p $(dir $@)
	$(Q)$(CC) -rdynamic $^ $(LIBS) -lcriterion -o $@

$(BUILD)/tests/asan/%: $(call obj,asan,tests/%.c $(CORE_SRC))
	@mkdir -p $(dir $@)
	$(Q)$(CC) -rdynamic $(SAN) $^ $(LIBS) -lcriterion -o $@

TEST_NAMES := $(patsubst tests/%.c,%,$(TEST_SRC))
TEST_BINS  := $(addprefix $(BUILD)/tests/opt/,$(TEST_NAMES)) $(addprefix $(BUILD)/tests/asan/,$(TEST_NAMES))

test-c: deps $(TEST_BINS) $(TEST_MODULES) $(BUILD)/salamander $(BUILD)/lvtc
	@./tests/run_c_tests.sh $(BUILD) $(TEST_NAMES)

test-templates: $(BUILD)/lvtc
	@./tests/templates/run_golden.sh $(BUILD)/lvtc

test-valgrind: $(TEST_BINS) $(BUILD)/bench/runtime_bench
	@./tests/valgrind_smoke.sh $(BUILD)

test-js: deps
	cd js && npm test --silent

test-e2e: deps $(BUILD)/salamander
	cd tests/e2e && node run.mjs ../../$(BUILD)/salamander

test: deps all
	@./tests/run_all.sh

# ---- benchmarks: optimized builds only; each prints BENCH lines ----
$(BUILD)/bench/runtime_bench: $(call obj,opt,tests/bench/runtime_bench.c $(LV_SRC))
	@mkdir -p $(dir $@)
	$(CC) $^ $(LIBS) -o $@

bench-runtime: $(BUILD)/bench/runtime_bench
	./$(BUILD)/bench/runtime_bench

$(BUILD)/bench/render_bench: $(call obj,opt,tests/bench/render_bench.c $(LV_SRC))
	@mkdir -p $(dir $@)
	$(CC) $^ $(LIBS) -o $@

bench-render: $(BUILD)/bench/render_bench
	./$(BUILD)/bench/render_bench

# The talk, replayed headlessly with --schedulers 1 (tests/demo/run.mjs).
demo-test: deps all $(BUILD)/bench/lvload
	node tests/demo/run.mjs $(BUILD)

-include tests/bench/bench.mk

run: deps all
	./$(BUILD)/salamander $(ARGS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
