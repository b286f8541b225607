/* SPDX-License-Identifier: GPL-2.0-only */
/* The caller's network namespace cookie: the key of every map. */
#ifndef WGKS_NETNS_H
#define WGKS_NETNS_H

#include <stdint.h>

/* 0 on success; -1 after err(). */
int netns_current_id(uint64_t *id);

/*
 * The user namespace that owns this network namespace (its inode number in
 * *userns): 1 if it is the initial one, 0 if not (a rootless container's:
 * its root controls the namespace's routes, devices and marks), -1 if the
 * kernel cannot tell (no NS_GET_USERNS).
 */
int netns_owner(uint64_t *userns);

/* What that means, for attach's and status's words. */
#define NOT_INITIAL_USERNS                                                             \
	"its root (a container's, not this host's) controls its devices, routes and " \
	"marks, and can lead traffic around the kill switch"

#endif
