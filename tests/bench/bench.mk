# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: the benchmark (tests/bench/README.md). Not part of `make test`:
# it measures time, and tests must not depend on timing.

BENCH_OUT := $(OUTPUT)/bench
BENCH_TOOLS := $(BENCH_OUT)/udpflood $(BENCH_OUT)/udpturns $(BENCH_OUT)/wgks-bench
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Iinclude -Iloader -I$(OUTPUT) -I$(BENCH_OUT)
# BENCH_ARGS is passed to bench.py, e.g. BENCH_ARGS='--rounds 20'.
BENCH_ARGS ?=

.PHONY: bench bench-tools

$(BENCH_OUT):
	$(Q)mkdir -p $@

$(BENCH_OUT)/empty.bpf.o: tests/bench/empty.bpf.c | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_OUT)/empty.skel.h: $(BENCH_OUT)/empty.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name empty_bpf > $@

$(BENCH_OUT)/udpflood: tests/bench/udpflood.c tests/bench/udp.h | $(BENCH_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $< -o $@

$(BENCH_OUT)/udpturns: tests/bench/udpturns.c tests/bench/udp.h | $(BENCH_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $< -o $@

$(BENCH_OUT)/wgks-bench: tests/bench/wgks-bench.c $(BPF_TEST_SRCS) $(BENCH_OUT)/empty.skel.h \
		$(SKELETONS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) tests/bench/wgks-bench.c $(BPF_TEST_SRCS) $(LIBBPF_LIBS) -o $@

bench-tools: wgks-bpf $(BENCH_TOOLS)

bench: bench-tools
	$(Q)python3 tests/bench/bench.py --bin $(CURDIR)/wgks-bpf --tools $(CURDIR)/$(BENCH_OUT) \
		--json $(CURDIR)/$(BENCH_OUT)/bench.json $(BENCH_ARGS)
