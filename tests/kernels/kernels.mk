# SPDX-License-Identifier: GPL-2.0-only
# Included by the top-level Makefile. `make test-kernels` boots Debian's 6.1
# and 6.12 kernels in qemu (software emulation) and runs the same checks
# there and on the host kernel: tests/kernels/run.sh says how.

# What the kernel matrix needs on the host, beyond `make deps`: qemu, and the
# tools that unpack Debian's kernel packages and pack the initramfs.
KERNELS_PACKAGES := qemu-system-x86 cpio xz-utils kmod util-linux
KERNELS_OUT := $(OUTPUT)/kernels

.PHONY: test-kernels deps-kernels

# After `deps`: two apt-get runs at once (make -j) would fight over dpkg's lock.
deps-kernels: deps
	@missing=$$(for p in $(KERNELS_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "deps-kernels: run as root to install them" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi

$(KERNELS_OUT):
	$(Q)mkdir -p $@

# The verdict tests for the guests: the same source as test-bpf, without the
# sanitizers (ASan's shadow memory and runtime are not what a 768 MB guest
# under software emulation should spend its time on).
$(KERNELS_OUT)/verdict: tests/bpf/test_verdict.c $(wildcard tests/bpf/*.h) $(BPF_TEST_SRCS) $(SKELETONS) | $(KERNELS_OUT)
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $< $(BPF_TEST_SRCS) -lcmocka $(LIBBPF_LIBS) -o $@

test-kernels: deps-kernels
	$(Q)$(MAKE) --no-print-directory wgks-bpf $(KERNELS_OUT)/verdict $(OUTPUT)/tests/failfast
	$(Q)bash tests/kernels/run.sh --wgks $(CURDIR)/wgks-bpf \
		--verdict $(CURDIR)/$(KERNELS_OUT)/verdict --failfast $(CURDIR)/$(OUTPUT)/tests/failfast \
		--out $(CURDIR)/$(KERNELS_OUT)
