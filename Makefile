# myctr: build, test, benchmark, demo, install.
#
# On a fresh Debian/Ubuntu machine, as root:  make demo  and  make test
# (both install what they need with apt-get and create the test users).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := /usr/local/go/bin:$(PATH)

# The Go toolchain that go.mod names, or a newer one: tests/setup/go.sh finds
# it (PATH, /usr/local/go) or fetches it once through the Go module proxy,
# and its directory goes first on PATH, for every script make runs too.
# GO=... on the command line or in the environment skips the search.
ifeq ($(origin GO),undefined)
ifneq ($(MAKECMDGOALS),clean)
GO_BIN_DIR := $(shell tests/setup/go.sh)
ifneq ($(GO_BIN_DIR),)
export PATH := $(GO_BIN_DIR):$(PATH)
endif
endif
endif
GO ?= go
# urfave_cli_no_docs drops the man-page generator and its package init, which
# every re-executed stage of myctr would otherwise pay for.
GO_BUILD_FLAGS ?= -trimpath -buildvcs=false -tags urfave_cli_no_docs
# The cgo builds (myctr-seccomp; elsewhere than amd64, myctr, myctr-init
# and myctr-runtime too) are linked statically (glibc's and libseccomp's
# .a, from libc6-dev and libseccomp-dev). myctr-init: run --init binds it
# into containers, whose images need not have a C library. myctr: every
# command starts about 5 ms sooner without the dynamic loader (measured on
# `myctr --version`), which is a fifth of a `run --rm`. netgo and osusergo keep
# glibc's NSS (which a static binary cannot load safely) out; users that
# only NSS knows are looked up through getent (frontend/userns/lookup.go).
STATIC_FLAGS ?= -tags urfave_cli_no_docs,netgo,osusergo -ldflags=-extldflags=-static
# myctr-init on amd64: a pure Go program (no cgo, no C library) whose ELF
# entry point runs the stages' C constructor before the Go runtime
# (frontend/nsexec/preinit; build.sh compiles nsenter.c for it). Every
# container start and exec so starts one process without a C library's
# and cgo's start-up, about 0.5 ms each. Elsewhere, the cgo build, whose
# C library runs the same constructor.
# myctr-runtime and myctr are built the same way: they link no libseccomp
# (a profile is compiled by myctr-seccomp, a small cgo program, once per
# boot, and kept in the runtime root or the run root), so none of their
# commands pays for cgo either (myctr --version: 0.8 ms sooner).
# myctr and myctr-full: one program (cmd/myctr) built twice. myctr, the
# command users run, is built with the lean tag: without the Containerfile
# builder (buildkit's parser, which brings protobuf) and the Docker API
# server, whose package initialisation every command paid for, about 2 ms
# of each start here (`myctr ps -a` 17.3 -> 15.0 ms, `run --rm` 56.4 -> 54.8 ms,
# interleaved, on a machine where a page fault costs 20 us; frontend/cli/lean.go).
# The command lines that need them (build, commit, system service, info,
# the whole help: frontend/cli/delegate.go) execute myctr-full, installed
# beside myctr-init.
LEAN_TAG := ,lean
INIT_ARCH := $(shell $(GO) env GOARCH 2>/dev/null)
ifeq ($(INIT_ARCH),amd64)
NOCGO_BUILD = CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -tags urfave_cli_no_docs,netgo,osusergo$(1) -ldflags=-E=_myctr_entry
INIT_BUILD = frontend/nsexec/preinit/build.sh frontend/nsexec/preinit/nsenter_linux_amd64.syso && \
	$(NOCGO_BUILD) -o bin/myctr-init ./cmd/myctr-init && \
	$(NOCGO_BUILD) -o bin/myctr-runtime ./cmd/myctr-runtime && \
	$(call NOCGO_BUILD,$(LEAN_TAG)) -o bin/myctr ./cmd/myctr && \
	$(NOCGO_BUILD) -o bin/myctr-full ./cmd/myctr
else
INIT_BUILD = $(GO) build $(GO_BUILD_FLAGS) $(STATIC_FLAGS) -o bin/myctr-init ./cmd/myctr-init && \
	$(GO) build $(GO_BUILD_FLAGS) $(STATIC_FLAGS) -o bin/myctr-runtime ./cmd/myctr-runtime && \
	$(GO) build $(GO_BUILD_FLAGS) $(STATIC_FLAGS)$(LEAN_TAG) -o bin/myctr ./cmd/myctr && \
	$(GO) build $(GO_BUILD_FLAGS) $(STATIC_FLAGS) -o bin/myctr-full ./cmd/myctr
endif
# myctr-monitor (C) is what stays resident beside each detached container
# (and, in its forward mode, as the port forwarder's relay): static, so
# that it maps no shared library either. Its files are compiled together;
# lint-c compiles each of them alone with the same warnings.
MONITOR_CFLAGS ?= -std=gnu11 -O2 -Wall -Wextra -Werror -static -s
MONITOR_SRCS := cmd/myctr-monitor/monitor.c cmd/myctr-monitor/forward.c
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
POLKIT_ACTIONS_DIR ?= /usr/share/polkit-1/actions
SYSTEMD_UNIT_DIR ?= /usr/lib/systemd/system
SYSTEMD_USER_UNIT_DIR ?= /usr/lib/systemd/user
SYSTEMD_GENERATOR_DIR ?= /usr/lib/systemd/system-generators
SYSTEMD_USER_GENERATOR_DIR ?= /usr/lib/systemd/user-generators
DBUS_DIR ?= /usr/share/dbus-1
MANDIR ?= $(PREFIX)/share/man
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETION_DIR ?= $(PREFIX)/share/zsh/site-functions
FISH_COMPLETION_DIR ?= $(PREFIX)/share/fish/vendor_completions.d

RESULTS := bin/test-results
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: all build test test-unit test-integration test-helper test-vm test-podman-system fuzz man bench demo lint lint-go lint-sh lint-c install clean

all: build

build:
	mkdir -p bin
	$(INIT_BUILD)
	$(GO) build $(GO_BUILD_FLAGS) $(STATIC_FLAGS) -o bin/myctr-seccomp ./cmd/myctr-seccomp
	$(GO) build $(GO_BUILD_FLAGS) -o bin/myctr-helper ./cmd/myctr-helper
	$(GO) build $(GO_BUILD_FLAGS) -o bin/myctr-generator ./cmd/myctr-generator
	$(GO) build $(GO_BUILD_FLAGS) -o bin/myctr-man ./cmd/myctr-man
	$(CC) $(MONITOR_CFLAGS) -o bin/myctr-monitor $(MONITOR_SRCS)
	chmod 0755 bin bin/myctr bin/myctr-full bin/myctr-init bin/myctr-runtime bin/myctr-seccomp bin/myctr-monitor bin/myctr-helper bin/myctr-generator bin/myctr-man

# test: lint, unit tests, then integration tests (each even when the one
# before failed), then, as root, the VM tier (test-vm), then one summary line "N passed, N failed, N skipped" and the skip reasons.
# Exits non-zero when anything failed.
test:
	rm -rf $(RESULTS)
	mkdir -p $(RESULTS)
	$(if $(IS_ROOT),tests/setup/deps.sh)
	@st=0; lint=passed; \
	$(MAKE) --no-print-directory lint || { st=1; lint=FAILED; }; \
	$(MAKE) --no-print-directory test-unit NO_SUMMARY=1 || st=1; \
	$(MAKE) --no-print-directory test-integration NO_SUMMARY=1 || st=1; \
	tests/podman-system/run.sh $(RESULTS)/podman-system.json || st=1; \
	if [ -n "$(IS_ROOT)" ]; then tests/vm/run.sh $(RESULTS)/vm.json || st=1; \
	else echo "test: the VM tier (tests/vm) needs root to build its guest image; not run"; fi; \
	echo; echo "=== summary"; \
	echo "lint: $$lint"; \
	tests/setup/summarize.sh $(RESULTS)/unit.json $(RESULTS)/integration.json $(RESULTS)/podman-system.json \
		$$([ -e $(RESULTS)/vm.json ] && echo $(RESULTS)/vm.json) || st=1; \
	exit $$st

# test-unit: go test ./... (integration tests carry the "integration" build
# tag and are not part of it; tests named TestReal* need a non-root user and
# real namespaces, and test-integration runs them as that user instead;
# tests named Test*Inner are only the re-executed halves of others), then
# go test -race on the packages whose goroutines share state (RACE_PACKAGES:
# the helper's serialized service loop and godbus's goroutines, the
# helper client and its fake, the port forwarders, the network
# watcher and the DNS server of named networks, the container's log
# pumps and relays, and the other packages
# that start goroutines and test in seconds). The race run's results are reported under "PACKAGE (race)", so
# that they count beside the plain run's instead of replacing them.
# Needs no root.
RACE_PACKAGES ?= ./helper/... ./frontend/helperclient/... ./frontend/network/... ./frontend/portfwd/... \
	./frontend/netdns/... ./frontend/container/... ./frontend/netwatch/... ./frontend/cgroup/... ./frontend/userns/... ./systemd/...
test-unit:
	@mkdir -p $(RESULTS)
	@if ! command -v jq >/dev/null; then \
		echo "jq is not installed: plain go test, no summary (tests/setup/deps.sh installs jq)"; \
		st=0; \
		$(GO) test -skip '^TestReal|Inner$$' ./... || st=1; \
		$(GO) test -race -skip '^TestReal|Inner$$' $(RACE_PACKAGES) || st=1; \
		exit $$st; \
	fi; \
	st=0; \
	$(GO) test -json -skip '^TestReal|Inner$$' ./... 2>&1 | tee $(RESULTS)/unit.json \
		| jq --unbuffered -R -j 'fromjson? // {Action: "output", Output: (. + "\n")} | select(.Action == "output" or .Action == "build-output") | .Output' \
		|| st=1; \
	$(GO) test -race -json -skip '^TestReal|Inner$$' $(RACE_PACKAGES) 2>&1 \
		| jq --unbuffered -R -c 'fromjson? // {Action: "output", Output: (. + "\n")} | if .Package then .Package += " (race)" else . end | if .ImportPath then .ImportPath += " (race)" else . end' \
		| tee -a $(RESULTS)/unit.json \
		| jq --unbuffered -j 'select(.Action == "output" or .Action == "build-output") | .Output' \
		|| st=1; \
	if [ -z "$(NO_SUMMARY)" ]; then tests/setup/summarize.sh $(RESULTS)/unit.json || st=1; fi; \
	exit $$st

# test-integration: the real binaries as a real non-root user (myctr-test
# when run as root, which also installs packages and creates the users),
# then, as root, the helper tier (see test-helper).
test-integration: build
	@st=0; \
	tests/setup/run-integration.sh $(RESULTS)/integration.json || st=1; \
	if [ -z "$(NO_SUMMARY)" ]; then tests/setup/summarize.sh $(RESULTS)/integration.json || st=1; fi; \
	exit $$st

# test-helper: only the helper tier (tests/helper, build tag "helper"), as
# root: a real system bus, polkitd and the helper activated through it, in
# throwaway network namespaces (tests/setup/helper-env.sh); make test runs
# it too, as the last phase of test-integration. HELPER_RUN=REGEX picks tests.
test-helper: build
	@st=0; \
	INTEGRATION_PHASES=helper tests/setup/run-integration.sh $(RESULTS)/helper.json || st=1; \
	tests/setup/summarize.sh $(RESULTS)/helper.json || st=1; \
	exit $$st

# test-vm: the VM tier (tests/vm, build tag "vm"), as root: qemu (TCG)
# boots a cached Debian guest with systemd as PID 1 (built once by
# tests/vm/image.sh under /var/cache/myctr-vm), installs this build with
# make install, and runs the helper's cases under real systemd (D-Bus
# activation through SystemdService=, the unit's hardening, idle exit).
# make test runs it too, as root. MYCTR_VM_RUN=REGEX picks cases.
test-vm: build
	@st=0; \
	tests/vm/run.sh $(RESULTS)/vm.json || st=1; \
	echo; echo "=== summary (VM tier)"; \
	tests/setup/summarize.sh $(RESULTS)/vm.json || st=1; \
	exit $$st

# test-podman-system: Podman's own system tests (v4.3.1's test/system
# bats files) against myctr and podman, as the test user, each with its own
# store; prints per file what each passes and rewrites
# tests/podman-system/podman-results.txt, podman's figures that make test
# (which runs myctr alone) prints beside myctr's. PODMAN_SYSTEM_FILES picks
# files. Slow: podman takes about 20 s per attached run on this kind of host.
test-podman-system: build
	@st=0; \
	PODMAN_SYSTEM_PEER=podman tests/podman-system/run.sh $(RESULTS)/podman-system.json || st=1; \
	tests/setup/summarize.sh $(RESULTS)/podman-system.json || st=1; \
	exit $$st

# fuzz: each go test -fuzz target for FUZZTIME (default 30s), one after
# another (tests/fuzz/run.sh): per target the execs, the new interesting
# inputs and any finding, whose crasher stays in testdata/fuzz/ and fails
# the target. FUZZ_RUN=REGEX picks targets. The seeds alone run in test-unit.
fuzz:
	FUZZTIME=$(or $(FUZZTIME),30s) tests/fuzz/run.sh

# bench: myctr beside podman and crun in one run, as ratios; not part of
# make test. tests/bench/run.sh's header says what each row runs and the
# knobs (BENCH_RUNS, BENCH_SCALE=10 for a quick scale row, BENCH_NO_NETWORK,
# BENCH_NO_IMAGES, BENCH_NO_DETACHED to leave parts out).
bench:
	tests/bench/run.sh
	@if [ -n "$(IS_ROOT)" ]; then tests/bench/cgroups.sh; \
	else echo "bench: the cgroup benchmark (tests/bench/cgroups.sh) boots the VM tier's guest and needs root; not run"; fi

demo:
	tests/demo/demo.sh

# lint: what can be checked without running anything, in well under a
# minute (make test runs it first): gofmt; go vet with every build tag the
# tree uses (the integration, helper and VM tiers' tags, and the helper's
# files for other architectures); go.mod and go.sum as go mod tidy would
# leave them; shellcheck on every shell script (the *.sh files and any
# other file whose #! line names a shell); and the C that cgo compiles, with
# every warning an error (cgo's own build shows none of them), and
# myctr-monitor's files linked together as make build links them.
lint: lint-go lint-sh lint-c

lint-go:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt -l reports:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration,helper,vm,ociroot ./tests/...
	GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./helper/...
	CGO_ENABLED=0 $(GO) vet ./frontend/nsexec/preinit ./frontend/seccomp/... ./cmd/myctr-init ./cmd/myctr-runtime ./cmd/myctr
	CGO_ENABLED=0 $(GO) vet -tags lean ./frontend/cli ./cmd/myctr
	$(GO) mod tidy -diff
	cd tests/clients/testcontainers && $(GO) vet -tags integration . && $(GO) mod tidy -diff

lint-sh:
	@if ! command -v shellcheck >/dev/null; then \
		echo "Error: shellcheck is not installed"; \
		echo "Hint: tests/setup/deps.sh installs it (apt-get install shellcheck)"; \
		exit 1; \
	fi
	@{ find . \( -path ./.git -o -path ./bin \) -prune -o -name '*.sh' -type f -print; \
	  find . \( -path ./.git -o -path ./bin \) -prune -o ! -name '*.sh' -type f -print0 \
		| xargs -0 grep -lIsE '^#!' \
		| while read -r f; do head -n 1 "$$f" | grep -qE '^#!\S*/(env +)?(ba|da)?sh\b' && echo "$$f"; done; \
	} | sort | xargs -r shellcheck -x

lint-c:
	@find . \( -path ./.git -o -path ./bin \) -prune -o -name '*.c' -print \
		| sort | xargs -r -n 1 $(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -c -o /dev/null
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; $(CC) $(MONITOR_CFLAGS) -o "$$out" $(MONITOR_SRCS)

# man: the man pages (myctr.1, myctr-COMMAND.1), made from the command tree
# by bin/myctr-man (cmd/myctr-man, a build-time tool that is not installed),
# in bin/man.
man: build
	rm -rf bin/man
	bin/myctr-man bin/man

# install: PREFIX=/usr for a distribution package. The helper goes to
# libexec (only D-Bus activation starts it); .service files in systemd/ go to
# the D-Bus activation directory or the systemd unit directory depending on
# what they are, with @LIBEXECDIR@ replaced by the helper's directory's
# parent; .conf files that are D-Bus bus policies go to dbus-1/system.d.
# The API service's user units (USER_UNITS: myctr.socket, which starts
# myctr.service) go to the user unit directory, @BINDIR@ filled in.
# The unit generator (NAME.container -> NAME.service) goes to libexec, and
# systemd finds it through two links: the system manager's generator, and
# the user manager's, whose name ("user") makes it read the user's files.
USER_UNITS := systemd/myctr.socket systemd/myctr.service

install: man
	install -D -m 0755 bin/myctr $(DESTDIR)$(BINDIR)/myctr
	install -D -m 0755 bin/myctr-runtime $(DESTDIR)$(BINDIR)/myctr-runtime
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASH_COMPLETION_DIR) $(DESTDIR)$(ZSH_COMPLETION_DIR) $(DESTDIR)$(FISH_COMPLETION_DIR)
	install -m 0644 bin/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	bin/myctr completion bash >$(DESTDIR)$(BASH_COMPLETION_DIR)/myctr
	bin/myctr completion zsh >$(DESTDIR)$(ZSH_COMPLETION_DIR)/_myctr
	bin/myctr completion fish >$(DESTDIR)$(FISH_COMPLETION_DIR)/myctr.fish
	install -D -m 0755 bin/myctr-init $(DESTDIR)$(LIBEXECDIR)/myctr/myctr-init
	install -D -m 0755 bin/myctr-full $(DESTDIR)$(LIBEXECDIR)/myctr/myctr-full
	install -D -m 0755 bin/myctr-seccomp $(DESTDIR)$(LIBEXECDIR)/myctr/myctr-seccomp
	install -D -m 0755 bin/myctr-monitor $(DESTDIR)$(LIBEXECDIR)/myctr/myctr-monitor
	install -D -m 0755 bin/myctr-helper $(DESTDIR)$(LIBEXECDIR)/myctr/myctr-helper
	install -D -m 0755 bin/myctr-generator $(DESTDIR)$(LIBEXECDIR)/myctr/myctr-generator
	mkdir -p $(DESTDIR)$(SYSTEMD_GENERATOR_DIR) $(DESTDIR)$(SYSTEMD_USER_GENERATOR_DIR)
	ln -sfn $(LIBEXECDIR)/myctr/myctr-generator $(DESTDIR)$(SYSTEMD_GENERATOR_DIR)/myctr-generator
	ln -sfn $(LIBEXECDIR)/myctr/myctr-generator $(DESTDIR)$(SYSTEMD_USER_GENERATOR_DIR)/myctr-user-generator
	for f in polkit/*.policy; do \
		[ -e "$$f" ] || continue; \
		install -D -m 0644 "$$f" "$(DESTDIR)$(POLKIT_ACTIONS_DIR)/$$(basename "$$f")"; \
	done
	for f in $(USER_UNITS); do \
		dest="$(DESTDIR)$(SYSTEMD_USER_UNIT_DIR)/$$(basename "$$f")"; \
		mkdir -p "$$(dirname "$$dest")"; \
		sed 's|@BINDIR@|$(BINDIR)|g' "$$f" >"$$dest.tmp"; \
		chmod 0644 "$$dest.tmp"; \
		mv "$$dest.tmp" "$$dest"; \
	done
	for f in systemd/*.service; do \
		[ -e "$$f" ] || continue; \
		case " $(USER_UNITS) " in *" $$f "*) continue;; esac; \
		if grep -q '^\[D-BUS Service\]' "$$f"; then \
			dest="$(DESTDIR)$(DBUS_DIR)/system-services/$$(basename "$$f")"; \
		else \
			dest="$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$(basename "$$f")"; \
		fi; \
		mkdir -p "$$(dirname "$$dest")"; \
		sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' "$$f" >"$$dest.tmp"; \
		chmod 0644 "$$dest.tmp"; \
		mv "$$dest.tmp" "$$dest"; \
	done
	for f in systemd/*.conf; do \
		[ -e "$$f" ] || continue; \
		if grep -q '<busconfig' "$$f"; then \
			install -D -m 0644 "$$f" "$(DESTDIR)$(DBUS_DIR)/system.d/$$(basename "$$f")"; \
		else \
			install -D -m 0644 "$$f" "$(DESTDIR)$(SYSTEMD_UNIT_DIR)/myctr-helper.service.d/$$(basename "$$f")"; \
		fi; \
	done

clean:
	rm -rf bin
