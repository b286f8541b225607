# SPDX-License-Identifier: GPL-2.0-only
# Included by the top-level Makefile: `make test` runs every suite.

DEBIAN_PACKAGES := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev \
	pkg-config make gcc libc6-dev wireguard-tools wireguard-go iproute2 iptables nftables \
	iputils-ping socat procps python3
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TEST_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -Wno-missing-prototypes \
	-Iinclude -Iloader -I$(OUTPUT) -Itests/unit
UNIT_TESTS := $(patsubst tests/unit/test_%.c,$(OUTPUT)/tests/unit_%,$(wildcard tests/unit/test_*.c))
BPF_TEST_SRCS := loader/load.c loader/attached.c loader/variant.c loader/maps.c loader/oldmaps.c loader/layout.c loader/devices.c loader/corebtf.c loader/rundir.c loader/netns.c loader/log.c loader/keys.c loader/prefix.c

# Installs the Debian packages that building and testing need, if missing.
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: run as root to install them" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi

# The skeleton: test_layout reads this build's map layout from the object it embeds.
$(OUTPUT)/tests/unit_%: tests/unit/test_%.c $(PURE_SRCS) $(wildcard tests/unit/*.h loader/*.h) include/wgks.h \
		$(SKELETONS) | $(OUTPUT)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(SAN) $< $(PURE_SRCS) -lcmocka $(LIBBPF_LIBS) -o $@

# The probe of blocked TCP connects (tests/lib/probes.sh, tcp_fails_fast):
# the leak suite's, and the kernel matrix's in its guests (no Python there).
# No sanitizers: it goes into those guests.
$(OUTPUT)/tests/failfast: tests/lib/failfast.c | $(OUTPUT)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) $< -o $@

$(OUTPUT)/tests/verdict: tests/bpf/test_verdict.c $(wildcard tests/bpf/*.h) $(BPF_TEST_SRCS) $(SKELETONS) | $(OUTPUT)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(SAN) $< $(BPF_TEST_SRCS) -lcmocka $(LIBBPF_LIBS) -lpthread -o $@

test: deps
	$(Q)$(MAKE) --no-print-directory all test-unit test-bpf test-e2e

# Parsers and pure logic, under AddressSanitizer and UBSan; no privileges.
test-unit: $(UNIT_TESTS)
	$(Q)set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# The verdict table through BPF_PROG_TEST_RUN on the real object, under the
# e2e lock: its maps would otherwise count as another suite's leftovers.
test-bpf: $(OUTPUT)/tests/verdict test-reap
	$(Q)if [ "$$(id -u)" != 0 ]; then echo "SKIP: test-bpf needs root"; \
	else echo "== $<"; flock -w 600 /run/wgks-bpf-e2e.lock $<; fi

# What a run cut short (killed, or the machine restored mid-run) left: its
# namespaces, processes, and the program if it then protects nothing; a
# kill switch that protects a namespace no test made stops the run here.
test-reap: wgks-bpf
	$(Q)if [ "$$(id -u)" = 0 ]; then bash tests/e2e/reap.sh $(CURDIR)/wgks-bpf; fi

# The CLI's errors, and the leak suite: real WireGuard (wireguard-go +
# wg-quick) in network namespaces, every scenario against wgks-bpf.
E2E_SUITES := tests/e2e/leftovers-test.sh tests/e2e/cli.sh tests/e2e/failfast.sh tests/e2e/watch.sh tests/e2e/install.sh \
	tests/e2e/errors.sh tests/e2e/upgrade.sh tests/e2e/leaks.sh
test-e2e: wgks-bpf $(OUTPUT)/tests/failfast test-reap
	$(Q)set -e; for t in $(E2E_SUITES); do echo "== $$t"; \
		bash tests/e2e/run-suite.sh $$t $(CURDIR)/wgks-bpf; done

.PHONY: demo compare

# A leak without a kill switch, none with wgks-bpf, in under a minute.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/e2e/demo.sh $(CURDIR)/wgks-bpf

# The leak suite against no kill switch, the iptables recipe and wgks-bpf:
# one Markdown table (README.md, "Compared"). Not part of `make test`.
compare: deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/tests/failfast
	$(Q)bash tests/e2e/compare.sh $(CURDIR)/wgks-bpf $(CURDIR)/$(OUTPUT)/compare

include tests/fuzz/fuzz.mk
include tests/bench/bench.mk
