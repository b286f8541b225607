# SPDX-License-Identifier: GPL-2.0-only
# wgks-bpf: clang -> .bpf.o -> bpftool gen skeleton -> one self-contained binary.

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
NMDISPATCHDIR ?= /etc/NetworkManager/dispatcher.d
# udev reads no rules under /usr/local: /etc unless installing into /usr.
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)
PKGLIBDIR ?= $(PREFIX)/lib/wgks-bpf
DESTDIR ?=
VERSION := 0.1.0

OUTPUT := .output
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/')

# The system include dirs clang would use for the host, so that <asm/types.h>
# is found in /usr/include/<triplet> without naming the triplet.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

# Test builds only: TEST_LAYOUT=swapped|renamed builds the maps of "another
# version" (include/wgks.h says how), for tests/e2e/upgrade.sh to take over.
TEST_LAYOUT ?=
LAYOUT_DEFS := $(if $(filter swapped,$(TEST_LAYOUT)),-DWGKS_TEST_LAYOUT_SWAPPED) \
	$(if $(filter renamed,$(TEST_LAYOUT)),-Dfwmark=mark)
# Every object depends on which layout it has: no object of a test build
# is ever linked into a real one, or the other way round.
LAYOUT_STAMP := $(OUTPUT)/layout-$(or $(TEST_LAYOUT),real)

BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude \
	$(CLANG_BPF_SYS_INCLUDES) $(LAYOUT_DEFS)

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DWGKS_VERSION='"$(VERSION)"' $(WARN) -MMD -MP \
	-Iinclude -Iloader -I$(OUTPUT) $(LAYOUT_DEFS) $(CFLAGS)
# libbpf, libelf and zlib linked in statically: the binary needs no libbpf
# of a given version, and the dynamic linker has only libc left to map at
# every start (a millisecond of each attach and detach here).
LIBBPF_LIBS := -Wl,-Bstatic -l:libbpf.a -lelf -lz -Wl,-Bdynamic

LOADER_SRCS := $(wildcard loader/*.c)
LOADER_OBJS := $(LOADER_SRCS:loader/%.c=$(OUTPUT)/loader/%.o)
# Modules that load, find or attach no BPF program: what the unit tests
# link (with libbpf, for corebtf.c's BTF parsing and log.c's print hook).
PURE_SRCS := loader/corebtf.c loader/rundir.c loader/lock.c loader/fwmark.c loader/opts.c loader/policy.c loader/cgroup.c \
	loader/wg.c loader/wgdump.c loader/log.c loader/prefix.c loader/keys.c loader/json.c loader/link.c loader/nldump.c \
	loader/layout.c loader/owned.c

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean install uninstall deps test test-unit test-bpf test-e2e test-reap test-cli

all: wgks-bpf

$(OUTPUT) $(OUTPUT)/loader $(OUTPUT)/tests:
	$(Q)mkdir -p $@

# Two objects: killswitch (variants cookie and probe, CO-RE against a
# minimal BTF) and killswitch_kctx (its kfunc needs the kernel's whole BTF).
BPF_OBJS := $(OUTPUT)/killswitch.bpf.o $(OUTPUT)/killswitch_kctx.bpf.o
SKELETONS := $(BPF_OBJS:.bpf.o=.skel.h)
.SECONDARY: $(BPF_OBJS)

$(LAYOUT_STAMP): | $(OUTPUT)
	$(Q)rm -f $(OUTPUT)/layout-*
	$(Q)touch $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/wgks.h $(LAYOUT_STAMP) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<))_bpf > $@

$(OUTPUT)/loader/%.o: loader/%.c $(SKELETONS) $(LAYOUT_STAMP) | $(OUTPUT)/loader
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

wgks-bpf: $(LOADER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBBPF_LIBS) -o $@

-include $(LOADER_OBJS:.o=.d)

# The network managers a failed lockdown keeps from starting (a drop-in each).
LOCKDOWN_GATED := NetworkManager.service systemd-networkd.service networking.service

# Installed files that name the binary's path.
DIST_GENERATED := $(OUTPUT)/wgks-bpf-lockdown.service $(OUTPUT)/wgks-bpf@.service \
	$(OUTPUT)/wgks-bpf-sync@.service \
	$(OUTPUT)/nm-dispatcher.sh $(OUTPUT)/wg-quick-restart.sh $(OUTPUT)/wg-quick-restart.conf
DIST_SED = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' $< > $@
# They are made again when the directories they name change (one `make
# install PREFIX=/usr` after another with the default /usr/local).
$(OUTPUT)/dist-dirs: FORCE | $(OUTPUT)
	$(Q)echo '$(SBINDIR) $(PKGLIBDIR)' | cmp -s - $@ || echo '$(SBINDIR) $(PKGLIBDIR)' > $@
$(OUTPUT)/%: loader/dist/%.in $(OUTPUT)/dist-dirs | $(OUTPUT)
	$(Q)$(DIST_SED)
$(OUTPUT)/%.sh: loader/dist/%.sh $(OUTPUT)/dist-dirs | $(OUTPUT)
	$(Q)$(DIST_SED)
.PHONY: FORCE
FORCE:

# The man page's header carries VERSION too.
$(OUTPUT)/wgks-bpf.8: loader/dist/wgks-bpf.8 Makefile | $(OUTPUT)
	$(Q)sed 's|@VERSION@|$(VERSION)|g' $< > $@

install: wgks-bpf $(DIST_GENERATED) $(OUTPUT)/wgks-bpf.8
	install -D -m 0755 wgks-bpf $(DESTDIR)$(SBINDIR)/wgks-bpf
	install -D -m 0644 $(OUTPUT)/wgks-bpf.8 $(DESTDIR)$(MANDIR)/man8/wgks-bpf.8
	install -D -m 0644 $(OUTPUT)/wgks-bpf-lockdown.service \
		$(DESTDIR)$(UNITDIR)/wgks-bpf-lockdown.service
	install -D -m 0644 $(OUTPUT)/wgks-bpf@.service $(DESTDIR)$(UNITDIR)/wgks-bpf@.service
	@# A new network device gets the backstop as it appears.
	install -D -m 0644 $(OUTPUT)/wgks-bpf-sync@.service $(DESTDIR)$(UNITDIR)/wgks-bpf-sync@.service
	install -D -m 0644 loader/dist/60-wgks-bpf.rules $(DESTDIR)$(UDEVRULESDIR)/60-wgks-bpf.rules
	install -D -m 0644 loader/dist/wgks-bpf.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/wgks-bpf
	install -D -m 0755 $(OUTPUT)/nm-dispatcher.sh $(DESTDIR)$(NMDISPATCHDIR)/50-wgks-bpf
	@# NetworkManager runs pre-up and pre-down scripts only from these.
	install -d $(DESTDIR)$(NMDISPATCHDIR)/pre-up.d $(DESTDIR)$(NMDISPATCHDIR)/pre-down.d
	ln -sf ../50-wgks-bpf $(DESTDIR)$(NMDISPATCHDIR)/pre-up.d/50-wgks-bpf
	ln -sf ../50-wgks-bpf $(DESTDIR)$(NMDISPATCHDIR)/pre-down.d/50-wgks-bpf
	@# A restart of wg-quick@.service keeps the namespace blocked throughout.
	install -D -m 0755 $(OUTPUT)/wg-quick-restart.sh $(DESTDIR)$(PKGLIBDIR)/wg-quick-restart
	install -D -m 0644 $(OUTPUT)/wg-quick-restart.conf \
		$(DESTDIR)$(UNITDIR)/wg-quick@.service.d/wgks-bpf.conf
	@# A failed lockdown keeps these network managers from starting.
	for m in $(LOCKDOWN_GATED); do \
		install -D -m 0644 loader/dist/wgks-bpf-lockdown.conf \
			$(DESTDIR)$(UNITDIR)/$$m.d/wgks-bpf-lockdown.conf || exit 1; \
	done

# Detach first, with the binary about to go (whatever version attached):
# nothing else could. Not as a user (packaging): there is nothing of ours
# to detach. Nothing attached is no failure; a detach that fails keeps the
# binary, so that it can be tried again.
uninstall:
	$(Q)bin='$(DESTDIR)$(SBINDIR)/wgks-bpf'; \
	if [ -x "$$bin" ] && [ "$$(id -u)" = 0 ]; then \
		"$$bin" detach --all || { echo "uninstall: $$bin detach --all failed;" \
			"nothing removed" >&2; exit 1; }; \
	fi
	rm -f $(DESTDIR)$(SBINDIR)/wgks-bpf $(DESTDIR)$(MANDIR)/man8/wgks-bpf.8 \
		$(DESTDIR)$(UNITDIR)/wgks-bpf-lockdown.service $(DESTDIR)$(UNITDIR)/wgks-bpf@.service \
		$(DESTDIR)$(UNITDIR)/wgks-bpf-sync@.service $(DESTDIR)$(UDEVRULESDIR)/60-wgks-bpf.rules \
		$(DESTDIR)$(BASHCOMPDIR)/wgks-bpf $(DESTDIR)$(NMDISPATCHDIR)/50-wgks-bpf \
		$(DESTDIR)$(NMDISPATCHDIR)/pre-up.d/50-wgks-bpf \
		$(DESTDIR)$(NMDISPATCHDIR)/pre-down.d/50-wgks-bpf \
		$(DESTDIR)$(PKGLIBDIR)/wg-quick-restart $(DESTDIR)$(UNITDIR)/wg-quick@.service.d/wgks-bpf.conf \
		$(LOCKDOWN_GATED:%=$(DESTDIR)$(UNITDIR)/%.d/wgks-bpf-lockdown.conf)

clean:
	rm -rf $(OUTPUT) wgks-bpf

include tests/tests.mk
include tests/kernels/kernels.mk
include tests/system/system.mk
