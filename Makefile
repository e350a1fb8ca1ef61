# prisync - build, test, bench and the developer workflow targets.
# `make help` lists every target with one line each: the `## ` comment after its name.

.DEFAULT_GOAL := all
SHELL := /bin/bash

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

MODULES := base compose engine stack watcher prisma db vcs supervisor
# libpq, libgit2 and libarchive are not linked: base/lazy.c dlopen()s them on first use
# (linked, they and their ~45 dependencies cost every run ~7 ms before main()).
PKGS_LINKED := yaml-0.1 jansson libcrypto
PKGS_LAZY   := libpq libgit2 libarchive
# libcurl: the static HTTP-only build of scripts/build-curl.sh when `make deps-build` made
# it (Debian's shared libcurl loads ~30 libraries at start-up), else the system's
CURL_DIR := $(shell scripts/build-curl.sh --print-dir)
ifneq ($(wildcard $(CURL_DIR)/lib/libcurl.a),)
CURL_CFLAGS := -I$(CURL_DIR)/include
CURL_LIBS   := $(CURL_DIR)/lib/libcurl.a -lssl -lcrypto
else
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null)
endif

CC      ?= cc
PKG_CFLAGS := $(CURL_CFLAGS) $(shell pkg-config --cflags $(PKGS_LINKED) $(PKGS_LAZY) 2>/dev/null)
PKG_LIBS   := $(CURL_LIBS) $(shell pkg-config --libs $(PKGS_LINKED) 2>/dev/null)
# the soname a library's development link points at (libpq.so -> libpq.so.5)
soname = $(shell objdump -p "$$($(CC) -print-file-name=lib$(1).so)" 2>/dev/null | awk '/SONAME/ { print $$2 }')
LAZY_SONAMES := -DPX_SONAME_PQ='"$(call soname,pq)"' -DPX_SONAME_GIT2='"$(call soname,git2)"' \
		-DPX_SONAME_ARCHIVE='"$(call soname,archive)"'

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wvla
CFLAGS  ?= -O2 -g
CPPFLAGS += -I. -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 \
	    -DPX_VERSION='"$(VERSION)"' -DPX_GIT_REV='"$(GIT_REV)"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
# libinotifytools ships no .pc file
LDLIBS  := $(PKG_LIBS) -linotifytools -lpthread -ldl
# the tests call these libraries themselves too (reading a tar back, making a repository)
TEST_LDLIBS := $(shell pkg-config --libs $(PKGS_LAZY) 2>/dev/null) -lcmocka

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# The normal build lands in build/, the sanitizer build in build/asan/, the fuzz build
# (clang, libFuzzer + ASan + UBSan) in build/fuzz/.
O ?= build
ifeq ($(FUZZ),1)
O := build/fuzz
CC := clang
CFLAGS := -O1 -g
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
CPPFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(CPPFLAGS)) -DPX_FUZZING
else ifeq ($(SAN),1)
O := build/asan
CFLAGS := -O1 -g
ALL_CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
# FORTIFY and ASan disagree on some intercepted calls
CPPFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(CPPFLAGS))
endif

LIB_SRCS  := $(sort $(wildcard $(addsuffix /*.c,$(MODULES))))
CMD_SRCS  := $(sort $(wildcard cmd/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
E2E_SRCS  := $(sort $(wildcard tests/e2e/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
HARN_SRCS := $(sort $(wildcard tests/harness/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(O)/obj/%.o)
CMD_OBJS  := $(CMD_SRCS:%.c=$(O)/obj/%.o)
HARN_OBJS := $(HARN_SRCS:%.c=$(O)/obj/%.o)
LIB       := $(O)/libprisync.a
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
E2E_BINS  := $(E2E_SRCS:tests/e2e/%.c=$(O)/tests/e2e/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/tests/fuzz/%)
BIN       := $(O)/prisync

.PHONY: all asan deps deps-build test unit e2e test-bins fuzz fuzz-bins bench format lint clean help
all: deps-build ## build ./prisync (installs the build packages first when missing)
	@$(MAKE) --no-print-directory prisync

prisync: $(BIN)
	@if [ "$(O)" = build ]; then cp -f $(BIN) prisync; fi

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/obj/base/lazy.o: CPPFLAGS += $(LAZY_SONAMES)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# the link line as a file that changes only when the line does: a new libcurl (static
# or shared) relinks every binary
LINK_STAMP := $(O)/link.flags
.PHONY: FORCE
$(LINK_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(LDFLAGS) $(LDLIBS)' | cmp -s - $@ || echo '$(LDFLAGS) $(LDLIBS)' >$@

$(BIN): $(CMD_OBJS) $(LIB) $(LINK_STAMP)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(LIB) $(LDLIBS)

$(O)/tests/unit/%: $(O)/obj/tests/unit/%.o $(LIB) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(TEST_LDLIBS)

$(O)/tests/e2e/%: $(O)/obj/tests/e2e/%.o $(HARN_OBJS) $(LIB) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(HARN_OBJS) $(LIB) $(LDLIBS) $(TEST_LDLIBS)

test-bins: $(BIN) $(UNIT_BINS) $(E2E_BINS)

$(O)/tests/fuzz/%: $(O)/obj/tests/fuzz/%.o $(LIB) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB) $(LDLIBS)

fuzz-bins: $(FUZZ_BINS)

# Each fuzz target runs FUZZ_SECONDS on its corpus (tests/fuzz/corpus/<target>/, seeds
# committed; new finds go to build/fuzz/corpus/).  A crash, leak or UBSan report fails.
FUZZ_SECONDS ?= 30
fuzz: ## the libFuzzer targets of tests/fuzz/, FUZZ_SECONDS (30) each
	@scripts/install-deps.sh --tools
	$(MAKE) FUZZ=1 fuzz-bins
	@set -e; for f in $(FUZZ_SRCS:tests/fuzz/%.c=%); do \
		mkdir -p build/fuzz/corpus/$$f tests/fuzz/corpus/$$f; \
		echo "== $$f ($(FUZZ_SECONDS) s)"; \
		build/fuzz/tests/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
			-artifact_prefix=build/fuzz/ build/fuzz/corpus/$$f tests/fuzz/corpus/$$f \
			2>build/fuzz/$$f.log || { tail -40 build/fuzz/$$f.log; exit 1; }; \
		tail -2 build/fuzz/$$f.log; \
	done

asan: ## build build/asan/ (prisync and the test binaries) with AddressSanitizer + UBSan
	$(MAKE) SAN=1 test-bins

deps: ## install the Debian packages the build and the tests need (idempotent; apt-get as root)
	@scripts/install-deps.sh

deps-build:
	@scripts/install-deps.sh --build

# The one test command: deps, sanitizer build, unit tests, e2e tests.
test: deps ## deps, ASan build, unit tests, e2e tests; ends with "N passed, N failed, N skipped"
	$(MAKE) SAN=1 test-bins
	tests/run.sh --bin build/asan/prisync --unit build/asan/tests/unit --e2e build/asan/tests/e2e

unit: deps ## the unit half of make test
	$(MAKE) SAN=1 test-bins
	tests/run.sh --bin build/asan/prisync --unit build/asan/tests/unit

e2e: deps ## the e2e half of make test
	$(MAKE) SAN=1 test-bins
	tests/run.sh --bin build/asan/prisync --e2e build/asan/tests/e2e

bench: prisync ## benchmarks side by side with docker compose (BENCH=name[,name]: edit-to-restart|edit-to-restart-prisma|burst|ps|status|up-wait|config|db-check|idle|watch-scale|startup, or stack|watch|db)
	bench/run.sh --bin ./prisync

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h')
format: ## clang-format every C file
	@scripts/install-deps.sh --tools
	clang-format -i $(FORMAT_SRCS)

lint: ## cppcheck + clang-tidy
	@scripts/install-deps.sh --tools
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--std=c11 --inline-suppr --suppress=missingIncludeSystem -I. \
		--include=/usr/include/jansson.h $(MODULES) cmd
	clang-tidy --quiet $(LIB_SRCS) $(CMD_SRCS) -- $(CPPFLAGS) -std=gnu11 $(PKG_CFLAGS)

# ---- The developer workflow: thin calls of prisync on the project's compose file ----
# COMPOSE_FILE (colon-separated, as docker compose reads it) and PROJECT (-p) choose the
# project; the default is the bundled example, with OFFLINE=1 merged with its offline file
# (the harness's images, npm from the host's cache).  Each target builds ./prisync first when
# it is missing or out of date; PRISYNC=path runs that binary instead and builds nothing (the
# e2e tests run the binary under test).  A failure is prisync's own message and exit code.
# What `make demo` started (engine, offline images) is read from build/demo.mk.
-include build/demo.mk
ifeq ($(OFFLINE),1)
COMPOSE_FILE ?= examples/prisma-app/compose.yaml:examples/prisma-app/compose.offline.yaml
else
COMPOSE_FILE ?= examples/prisma-app/compose.yaml
endif
PROJECT ?=
PRISYNC ?= ./prisync
WORKFLOW_DEP := $(if $(filter ./prisync,$(PRISYNC)),all)
PRISYNC_RUN = COMPOSE_FILE='$(COMPOSE_FILE)' $(PRISYNC) $(if $(PROJECT),-p '$(PROJECT)')
WORKFLOW := docker-up docker-down docker-restart docker-rebuild prisma-sync prisma-generate \
	    db-check db-create db-migrate db-reset status logs demo demo-down
.PHONY: $(WORKFLOW)

docker-up: $(WORKFLOW_DEP) ## up -d --wait: the stack running and healthy, the client synced, the supervisor watching
	@$(PRISYNC_RUN) up -d --wait
docker-down: $(WORKFLOW_DEP) ## down: stop the supervisor, remove the containers and networks (volumes kept)
	@$(PRISYNC_RUN) down
docker-restart: $(WORKFLOW_DEP) ## restart the containers, then sync the client
	@$(PRISYNC_RUN) restart && $(PRISYNC_RUN) sync
docker-rebuild: $(WORKFLOW_DEP) ## rebuild the images, recreate the containers, sync
	@$(PRISYNC_RUN) build && $(PRISYNC_RUN) up -d --wait --force-recreate
prisma-sync: $(WORKFLOW_DEP) ## generate the client and restart the services that use it
	@$(PRISYNC_RUN) sync
prisma-generate: $(WORKFLOW_DEP) ## generate the client only
	@$(PRISYNC_RUN) generate
db-check: $(WORKFLOW_DEP) ## is the database reachable, does it exist, where do its migrations stand
	@$(PRISYNC_RUN) db-check
db-create: $(WORKFLOW_DEP) ## create the database when it is missing
	@$(PRISYNC_RUN) db-create
db-migrate: $(WORKFLOW_DEP) ## apply the pending migrations (as prisma migrate deploy), then sync
	@$(PRISYNC_RUN) migrate
db-reset: $(WORKFLOW_DEP) ## drop, create, migrate and sync the dev database (asks first; YES=1 does not)
	@$(PRISYNC_RUN) db-reset $(if $(YES),--yes)
status: $(WORKFLOW_DEP) ## is everything in sync: services, client, last sync, database, git
	@$(PRISYNC_RUN) status
logs: $(WORKFLOW_DEP) ## follow every container's output
	@$(PRISYNC_RUN) logs -f
demo: all ## on a fresh machine: the bundled example up, synced and supervised, then what to try
	@scripts/demo.sh
demo-down: $(WORKFLOW_DEP) ## the example down, and the engine make demo started (if it started one)
	@$(PRISYNC_RUN) down -v
	@if [ -f build/demo/harness.env ]; then tests/harness/env.sh down build/demo/harness.env; fi
	@rm -rf build/demo build/demo.mk

clean: ## down (when ./prisync exists), remove the project's .prisync/ and the build outputs
	@if [ -x ./prisync ]; then $(PRISYNC_RUN) down || true; fi
	@for f in $$(echo '$(COMPOSE_FILE)' | tr ':' ' '); do rm -rf "$$(dirname "$$f")/.prisync"; done
	rm -rf build prisync

help: ## this list
	@awk -F ':.*## ' '/^[a-z][a-z0-9-]*:.*## / { printf "  make %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
