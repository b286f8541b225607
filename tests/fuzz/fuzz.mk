# SPDX-License-Identifier: GPL-2.0-only
# make fuzz: libFuzzer (clang) on the parsers, FUZZ_SECONDS each. Crashers
# land in .output/fuzz/; keep each as a regression case in tests/unit.

FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Iloader \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := $(OUTPUT)/fuzz/fuzz_parsers $(OUTPUT)/fuzz/fuzz_args $(OUTPUT)/fuzz/fuzz_json

$(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/fuzz_parsers: tests/fuzz/fuzz_parsers.c loader/fwmark.c loader/prefix.c \
		loader/wgdump.c | $(OUTPUT)/fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ -o $@

# opts.c reports through log.c, which needs libbpf for its print hook.
$(OUTPUT)/fuzz/fuzz_args: tests/fuzz/fuzz_args.c loader/opts.c loader/fwmark.c loader/prefix.c \
		loader/log.c | $(OUTPUT)/fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ $(LIBBPF_LIBS) -o $@

$(OUTPUT)/fuzz/fuzz_json: tests/fuzz/fuzz_json.c loader/json.c tests/unit/json_check.h | $(OUTPUT)/fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_json.c loader/json.c -o $@

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)
	$(Q)set -e; for t in parsers args json; do \
		mkdir -p $(OUTPUT)/fuzz/corpus-$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		$(OUTPUT)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
			-artifact_prefix=$(OUTPUT)/fuzz/crash-$$t- \
			$(OUTPUT)/fuzz/corpus-$$t tests/fuzz/corpus/$$t 2>&1 | tail -n 3; \
	done
