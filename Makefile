# One non-recursive Makefile for the whole project. Objects live under
# build/<variant>/ so that release, debug and asan builds sit side by side.
#
#   make            release build of both binaries
#   make asan       AddressSanitizer + UBSan build (build/asan/)
#   make unit       unit tests (cmocka), release build
#   make test       deps, make check, builds, unit tests (plain, asan,
#                   valgrind), fuzz targets (bounded), the bench's
#                   open-loop generator's self-test, k8s-validate, local
#                   stack, API tests, containers, browser tests, stack
#                   down, then test-ha
#   make test-ha    the data-tier drills on the HA stack (STACK_DB=ha)
#   make api-test   the API tests against a running stack (make up)
#   make test-asan  the API suite against ASan/UBSan binaries
#   make fuzz       every libFuzzer target FUZZ_SECONDS each (fuzz-short:
#                   10 s each)
#   make bench      the benchmark (~20 min; README "Performance")
#   make k8s-validate  render and check the Kubernetes overlays offline
#   make run        deps, build, whole local stack in the foreground
#   make up / down  the same stack in the background / stop it
#   make check      cppcheck, clang-tidy, clang-format (make format fixes
#                   the last)
#   make images     the three container images (podman or docker), sizes
#   make test-containers  the images run as the dev overlay says (part of
#                   make test)
#   make install    binaries, systemd units, nginx snippet under
#                   DESTDIR/PREFIX (plain hosts behind your own nginx);
#                   make deb: the same as a Debian package
#   make site       the web site (web/, npm ci + vite) into build/site/
#   make web-test   browser tests of the site against the running stack

VARIANT ?= release
CC ?= cc
PYTHON ?= /usr/bin/python3
PKGS := jansson libjwt libsodium libmariadb libpq openssl libmicrohttpd
# ICU (Unicode slugs and usernames) and libcurl (identity events to pay) are
# the blog's alone: pay does not link them.
BLOG_PKGS := icu-uc icu-i18n libcurl
# Quiet here so that `make deps` can run on a machine without them; every
# compile first goes through pkgs-present, which names what is missing.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(BLOG_PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
BLOG_PKG_LIBS := $(shell pkg-config --libs $(BLOG_PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes
BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -Icommon $(PKG_CFLAGS) \
	-MMD -MP -pthread
CFLAGS_release := -O2 -g
CFLAGS_debug := -O0 -g
CFLAGS_asan := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_asan := -fsanitize=address,undefined
# libFuzzer targets (tests/fuzz): clang only; the code under test is
# instrumented for coverage, ASan and UBSan, the targets link libFuzzer.
CFLAGS_fuzz := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
LDFLAGS_fuzz := -fsanitize=fuzzer,address,undefined

B := build/$(VARIANT)
CFLAGS_ALL = $(BASE_CFLAGS) $(CFLAGS_$(VARIANT)) $(EXTRA_CFLAGS)
LDFLAGS_ALL = -pthread $(LDFLAGS_$(VARIANT))
LIBS := -lfcgi $(PKG_LIBS)

COMMON_SRC := $(wildcard common/*.c)
BLOG_SRC := $(wildcard blog-fcgi/*.c)
PAY_SRC := $(wildcard pay-fcgi/*.c)
BLOG_SQL := $(sort $(wildcard blog-fcgi/migrations/*.sql))
PAY_SQL := $(sort $(wildcard pay-fcgi/migrations/*.sql))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC := tests/bench/openloop.c

O := $(B)/obj
COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
BLOG_OBJ := $(BLOG_SRC:%.c=$(O)/%.o) $(O)/gen/blog_migrations.o
PAY_OBJ := $(PAY_SRC:%.c=$(O)/%.o) $(O)/gen/pay_migrations.o
BLOG_LIBOBJ := $(filter-out $(O)/blog-fcgi/blog_main.o,$(BLOG_OBJ))
PAY_LIBOBJ := $(filter-out $(O)/pay-fcgi/pay_main.o,$(PAY_OBJ))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

.SECONDARY:

.PHONY: test-ha all release debug asan unit unit-asan valgrind deps run up down \
	restart-rolling test api-test check format clean bench k8s-validate \
	test-asan pkgs-present unit-pkgs-present images test-containers containers-check install deb \
	site web-test fuzz fuzz-build fuzz-bins fuzz-short bench-selftest

# pkgs-present comes first in the file, so say which goal plain make means.
.DEFAULT_GOAL := all

# A missing library fails here with its pkg-config name, not later with a
# header the compiler cannot find. cmocka is needed by the unit tests only.
define pkgs_check
	@missing=; for p in $(1); do \
	    pkg-config --exists $$p || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "pkg-config cannot find:$$missing" \
	    "(make deps installs them)" >&2; exit 1; fi
endef
pkgs-present:
	$(call pkgs_check,$(PKGS) $(BLOG_PKGS))
unit-pkgs-present:
	$(call pkgs_check,cmocka)

all: $(B)/blog-fcgi $(B)/pay-fcgi site

# The web site: npm ci installs exactly what web/package-lock.json pins
# (again only when the lockfile changes), vite builds into build/site/,
# which the edge serves at /.
WEB_SRC := web/index.html web/vite.config.js $(shell find web/src web/public -type f 2>/dev/null)

site: build/site/index.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("node >= 20.19 is needed for the web site, found "+process.version); process.exit(1) }'
	cd web && npm ci --no-audit --no-fund
	@touch $@

build/site/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run --silent build

# Browser tests (Debian's chromium driven by playwright-core) against the
# stack on STACK_PORT_OFFSET; screenshots and budgets under var/web/.
web-test: site
	cd web && STACK_PORT_OFFSET=$${STACK_PORT_OFFSET:-0} WEB_ARTIFACTS=$(CURDIR)/var/web \
	    node --test --test-concurrency=1 --test-reporter=spec tests/

release:
	@$(MAKE) --no-print-directory VARIANT=release all
debug:
	@$(MAKE) --no-print-directory VARIANT=debug all
asan:
	@$(MAKE) --no-print-directory VARIANT=asan all

$(O)/%.o: %.c | pkgs-present
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@
$(O)/tests/unit/%.o: tests/unit/%.c | pkgs-present unit-pkgs-present
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The embed tool runs at build time only; it is always built plain.
build/cm_embed: common/embed/cm_embed.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O1 $< -o $@

$(O)/gen/blog_migrations.c: build/cm_embed $(BLOG_SQL)
	@mkdir -p $(@D)
	build/cm_embed blog $(BLOG_SQL) > $@.tmp && mv $@.tmp $@
$(O)/gen/pay_migrations.c: build/cm_embed $(PAY_SQL)
	@mkdir -p $(@D)
	build/cm_embed pay $(PAY_SQL) > $@.tmp && mv $@.tmp $@
$(O)/gen/%.o: $(O)/gen/%.c | pkgs-present
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/blog-fcgi: $(BLOG_OBJ) $(B)/libcommon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(BLOG_OBJ) $(B)/libcommon.a $(LIBS) \
	    $(BLOG_PKG_LIBS)
$(B)/pay-fcgi: $(PAY_OBJ) $(B)/libcommon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(PAY_OBJ) $(B)/libcommon.a $(LIBS)

# Unit tests: test_blog_* and test_pay_* also link their service's objects.
# Fuzz targets: fuzz_blog_* and fuzz_pay_* also link their service's
# objects (built with VARIANT=fuzz, see fuzz-build).
$(B)/fuzz/fuzz_blog_%: $(O)/tests/fuzz/fuzz_blog_%.o $(BLOG_LIBOBJ) \
    $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BLOG_LIBOBJ) $(B)/libcommon.a \
	    $(LIBS) $(BLOG_PKG_LIBS)
$(B)/fuzz/fuzz_pay_%: $(O)/tests/fuzz/fuzz_pay_%.o $(PAY_LIBOBJ) \
    $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(PAY_LIBOBJ) $(B)/libcommon.a $(LIBS)
$(B)/fuzz/fuzz_cm_%: $(O)/tests/fuzz/fuzz_cm_%.o $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(B)/libcommon.a $(LIBS)

$(B)/tests/test_blog_%: $(O)/tests/unit/test_blog_%.o $(BLOG_LIBOBJ) \
    $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BLOG_LIBOBJ) $(B)/libcommon.a \
	    $(LIBS) $(BLOG_PKG_LIBS) $(CMOCKA_LIBS)
$(B)/tests/test_pay_%: $(O)/tests/unit/test_pay_%.o $(PAY_LIBOBJ) \
    $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(PAY_LIBOBJ) $(B)/libcommon.a \
	    $(LIBS) $(CMOCKA_LIBS)
$(B)/tests/test_%: $(O)/tests/unit/test_%.o $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(B)/libcommon.a $(LIBS) $(CMOCKA_LIBS)

# Password hashing is slow on purpose; tests use a cheap cost.
UNIT_ENV := PASSWORD_HASH_COST=test

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
	    $(UNIT_ENV) $$t; done

unit-asan:
	@$(MAKE) --no-print-directory VARIANT=asan unit

valgrind: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
	    $(UNIT_ENV) valgrind -q --leak-check=full \
	    --show-leak-kinds=definite,indirect,possible \
	    --errors-for-leak-kinds=definite,indirect,possible \
	    --error-exitcode=1 $$t; done

deps:
	@tests/stack.sh deps

run: deps all
	tests/stack.sh run

up: all
	tests/stack.sh up

down:
	tests/stack.sh down

restart-rolling: all
	tests/stack.sh restart-rolling

api-test:
	$(PYTHON) -m pytest -q tests/api $(SKIP_HA_DRILLS)

# The whole suite; the stack is stopped whatever the outcome.
test: deps
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory unit-asan
	$(MAKE) --no-print-directory valgrind
	$(MAKE) --no-print-directory fuzz-short
	$(MAKE) --no-print-directory bench-selftest
	k8s/validate.sh
	tests/stack.sh up
	rc=0; $(PYTHON) -m pytest -q tests/api $(SKIP_HA_DRILLS) || rc=$$?; \
	    $(MAKE) --no-print-directory containers-check || rc=$$?; \
	    $(MAKE) --no-print-directory web-test || rc=$$?; \
	    tests/stack.sh down; exit $$rc
	$(MAKE) --no-print-directory test-ha

# The data-tier drills (README "High availability") on the HA topology
# (STACK_DB=ha), with test_ha_failures.py again there; brings down whatever
# stack runs first (same ports and var/). Figures in var/log/ha-report.json.
# The last step of make test; test_ha_data.py needs this topology, so the
# API runs on the single-database stack leave it out.
SKIP_HA_DRILLS := --ignore=tests/api/test_ha_data.py
HA_DRILLS := tests/api/test_ha_data.py tests/api/test_ha_failures.py
test-ha: deps all
	tests/stack.sh down
	rc=0; STACK_DB=ha tests/stack.sh up || rc=$$?; \
	    if [ $$rc = 0 ]; then \
	        $(PYTHON) -m pytest -q $(HA_DRILLS) || rc=$$?; fi; \
	    tests/stack.sh down; exit $$rc

# Container images from k8s/images/*.Dockerfile, tagged
# $(IMAGE_REPO)/NAME:$(IMAGE_TAG) (default localhost/conduit/NAME:dev):
# docker when its engine answers, otherwise podman with the project-local
# configuration under var/containers/ (k8s/images/engine.sh).
images: site
	k8s/images/images.sh

# The images built from this checkout run as the rendered dev overlay says,
# beside the local stack's databases (tests/containers/run.py). Leaves the
# local stack up, as make up does.
test-containers: all
	tests/stack.sh up
	$(MAKE) --no-print-directory containers-check

containers-check: site
	CONTAINER_ENGINE=podman k8s/images/images.sh
	$(PYTHON) -m pytest -q tests/containers
	$(PYTHON) tests/containers/run.py

# Plain hosts behind your own nginx: binaries, hardened systemd units,
# example settings and the nginx snippet (dist/install.sh lists the paths).
# make install PREFIX=/usr/local DESTDIR=/tmp/stage
install: all
	dist/install.sh

# A Debian package of the same tree (PREFIX=/usr): build/deb/conduit_*.deb.
deb: all
	dist/deb.sh

# libFuzzer targets for every parser (tests/fuzz/README.md). fuzz-build
# makes them with clang into build/fuzz/fuzz/; make fuzz runs each for
# FUZZ_SECONDS (default 300) and keeps what it finds under build/fuzz/;
# fuzz-short (part of make test) runs each for 10 s. A crash or a failed
# property fails the run and leaves its input in build/fuzz/artifacts/.
FUZZ_SECONDS ?= 300
fuzz-bins: $(FUZZ_BIN)
fuzz-build:
	@$(MAKE) --no-print-directory VARIANT=fuzz CC=clang fuzz-bins
fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS)
fuzz-short: fuzz-build
	tests/fuzz/run.sh 10

# Benchmarks against references measured in the same run (~20 min, not
# part of make test): closed-loop and open-loop points, table,
# var/bench/latest.json, var/bench/bench.png; PROFILE=1 adds flame graphs
# (var/bench/profile/). tests/bench/readme_table.py --update puts a run
# into README.md.
bench: deps all $(B)/bench/openloop
	tests/stack.sh up
	OPENLOOP=$(B)/bench/openloop PROFILE=$(PROFILE) tests/bench/run.sh

# The bench's open-loop load generator (tests/bench/README.md says why),
# and its own test against a local stub server (part of make test, ~10 s).
$(B)/bench/openloop: tests/bench/openloop.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $< -o $@
bench-selftest: $(B)/bench/openloop
	OPENLOOP=$(B)/bench/openloop $(PYTHON) -m pytest -q \
	    tests/bench/test_openloop.py

# Render the Kubernetes overlays and check them offline (schemas, policy,
# nginx -t); also part of make test.
k8s-validate:
	k8s/validate.sh

# The whole API suite against the ASan/UBSan binaries; any sanitizer report
# in a replica's log fails the run (not part of make test: it takes longer).
test-asan: deps
	$(MAKE) --no-print-directory VARIANT=asan all
	VARIANT=asan tests/stack.sh up
	rc=0; $(PYTHON) -m pytest -q tests/api $(SKIP_HA_DRILLS) || rc=$$?; \
	    VARIANT=asan tests/stack.sh down; \
	    if grep -l 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' \
	        var/log/blog-*.log var/log/pay-*.log; then rc=1; fi; exit $$rc

check:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --suppress=missingIncludeSystem -Icommon \
	    common blog-fcgi pay-fcgi $(BENCH_SRC)
	clang-tidy --quiet $(COMMON_SRC) $(BLOG_SRC) $(PAY_SRC) $(BENCH_SRC) -- \
	    -std=gnu11 -D_GNU_SOURCE -Icommon $(PKG_CFLAGS)
	clang-format --dry-run -Werror $(COMMON_SRC) $(BLOG_SRC) $(PAY_SRC) \
	    $(BENCH_SRC) common/*.h blog-fcgi/*.h pay-fcgi/*.h

format:
	clang-format -i $(COMMON_SRC) $(BLOG_SRC) $(PAY_SRC) $(BENCH_SRC) \
	    common/*.h blog-fcgi/*.h pay-fcgi/*.h

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
