// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync: bring this namespace's backstop up to date with its devices (a
 * device that appeared after attach: a docking station's Ethernet, USB
 * tethering, a VM's bridge), and forget namespaces that no longer exist.
 * Run by systemd for each device udev sees appear in the host's namespace
 * (60-wgks-bpf.rules, wgks-bpf-sync@.service), by hand in other
 * namespaces, and safe to run at any time: it changes no living
 * namespace's policy.
 */
#include <errno.h>
#include <string.h>
#include "backstop.h"
#include "context.h"
#include "log.h"
#include "opts.h"
#include "subcommands.h"

int sync_main(int argc, char **argv)
{
	struct status_opts o;
	struct ks_ctx c = KS_CTX_INIT;
	struct wgks_policy p;
	int ret = 1, n;

	if (parse_sync_args(argc, argv, &o))
		return 2;
	/*
	 * Opening to change forgets the namespaces that are gone, and takes over
	 * what another version attached.
	 */
	if (ctx_check() || ctx_open(&c, o.cgroup, CTX_CHANGE) || ctx_ours(&c))
		goto out;
	if (!c.found || ks_policy_read(&c.st.maps, c.netns, &p)) {
		if (c.found && errno != ENOENT) {
			err("cannot read the policy: %s", strerror(errno));
			goto out;
		}
		info("this namespace has no policy; nothing to cover");
		ret = 0;
		goto out;
	}
	n = backstop_cover(&c, &p.rules);
	if (n < 0)
		goto out;
	info("backstop on %d device%s of this namespace", n, n == 1 ? "" : "s");
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}
