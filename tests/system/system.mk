# SPDX-License-Identifier: GPL-2.0-only
# Included by the top-level Makefile. `make test-system` boots a whole
# Debian (systemd, NetworkManager, systemd-networkd) in qemu, with
# wgks-bpf installed by `make install`, and counts what leaks at boot and
# while the network managers work: tests/system/run.sh says how.

# What it needs on the host, beyond `make deps` and `make deps-kernels`:
# mmdebstrap builds the guest from Debian's archive, dnsmasq-base is the
# guest's DHCP server and resolver, e2fsprogs makes its disk (mke2fs -d).
SYSTEM_PACKAGES := mmdebstrap dnsmasq-base e2fsprogs
SYSTEM_OUT := $(OUTPUT)/system

.PHONY: test-system deps-system

# After deps-kernels (qemu): two apt-get runs at once would fight over
# dpkg's lock.
deps-system: deps-kernels
	@missing=$$(for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "deps-system: run as root to install them" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi

test-system: deps-system
	$(Q)$(MAKE) --no-print-directory wgks-bpf
	$(Q)bash tests/system/run.sh --src $(CURDIR) --out $(CURDIR)/$(SYSTEM_OUT)
