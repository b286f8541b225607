// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "log.h"
#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int privs_check(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	static const int needed[] = { CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON };

	if (syscall(SYS_capget, &hdr, data)) {
		err("cannot read capabilities");
		return -1;
	}
	for (unsigned i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!has_cap(data, needed[i])) {
			err("must run as root (needs CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF "
			    "and CAP_PERFMON)");
			return -1;
		}
	}
	return 0;
}
