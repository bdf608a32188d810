# Peers benchmark: lvload (the C LiveView load generator), the bare h2o echo, and `bench-peers`.
# Included from the top-level Makefile; also works alone:
#   make -f tests/bench/bench.mk build/bench/lvload build/bench/echo
# Variables here are prefixed PEERS_ so they cannot clash with the including Makefile's.

BUILD ?= build
CC    ?= gcc

PEERS_CFLAGS := -std=c17 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror
PEERS_DIR    := $(BUILD)/bench

.PHONY: bench-peers bench-peers-scale bench-peers-fair bench-peers-tools test-bench-tools

$(PEERS_DIR)/lvload: tests/bench/lvload.c
	@mkdir -p $(dir $@)
	$(CC) $(PEERS_CFLAGS) $< -o $@ -lpthread -lm

# the same under ASan+UBSan, for the tools' own tests (tests/bench/lvload_test.mjs)
$(PEERS_DIR)/asan/lvload: tests/bench/lvload.c
	@mkdir -p $(dir $@)
	$(CC) $(PEERS_CFLAGS) -O1 -fsanitize=address,undefined $< -o $@ -lpthread -lm

# h2o's <h2o/websocket.h> includes <wslay/wslay.h>, which only libwslay-dev ships.
$(PEERS_DIR)/.wslay-stamp:
	@mkdir -p $(dir $@)
	@dpkg -s libwslay-dev >/dev/null 2>&1 || { echo "installing: libwslay-dev"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libwslay-dev; }
	@touch $@

$(PEERS_DIR)/echo: tests/bench/echo.c | $(PEERS_DIR)/.wslay-stamp
	@mkdir -p $(dir $@)
	$(CC) $(PEERS_CFLAGS) $< -o $@ -lh2o-evloop -lwslay -lssl -lcrypto -lpthread

bench-peers-tools: $(PEERS_DIR)/lvload $(PEERS_DIR)/echo

# make test-bench-tools: lvload (sanitized) against Salamander and the echo (part of `make test`)
test-bench-tools: $(PEERS_DIR)/asan/lvload $(PEERS_DIR)/echo $(PEERS_SERVER)
	node tests/bench/lvload_test.mjs $(BUILD)

# Included from the top-level Makefile, bench-peers first builds Salamander with that Makefile's
# rules; run alone, peers.sh uses whatever build/salamander exists and reports Salamander's runs
# as not done if there is none.
PEERS_SERVER := $(if $(filter Makefile,$(notdir $(firstword $(MAKEFILE_LIST)))),$(BUILD)/salamander)

# make bench-peers: the standard set, < 10 minutes; make bench-peers-scale: 19,000 idle sessions
# and 10,000 ticking thermostats; make bench-peers-fair: only the fair figure and its floor. Each
# prints a table and BENCH lines and keeps the raw JSON lines in build/bench/peers/; bench-peers
# also draws build/bench/peers-clicks.svg.
bench-peers: bench-peers-tools $(PEERS_SERVER)
	BUILD=$(BUILD) bash tests/bench/peers.sh

bench-peers-scale: bench-peers-tools $(PEERS_SERVER)
	BUILD=$(BUILD) bash tests/bench/peers.sh scale

bench-peers-fair: bench-peers-tools $(PEERS_SERVER)
	BUILD=$(BUILD) bash tests/bench/peers.sh fair
