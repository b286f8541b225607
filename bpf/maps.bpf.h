/* SPDX-License-Identifier: GPL-2.0-only */
/* The kill switch's maps, shared by its programs; user space fills them. */
#ifndef WGKS_MAPS_BPF_H
#define WGKS_MAPS_BPF_H

#include "wgks.h"

/*
 * Not preallocated: the map is made at once (filling a preallocated one's
 * free lists took a millisecond of every first attach). The loader rewrites
 * a policy in place under its lock (struct wgks_policy, lock).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WGKS_MAX_NETNS);
	__type(key, __u64); /* network namespace cookie */
	__type(value, struct wgks_policy);
} wgks_policy SEC(".maps");

/*
 * Counters of namespaces with a policy, at wgks_policy.counters. An array,
 * not a hash keyed by the cookie: its lookup is inlined, with no hashing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WGKS_MAX_NETNS);
	__type(key, __u32);
	__type(value, struct wgks_counters);
} wgks_stats SEC(".maps");

/* Namespaces without a policy, all together (an array: cheapest lookup). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wgks_counters);
} wgks_unmanaged SEC(".maps");

/* Row 6: peer endpoints of tunnels whose fwmark is off (not preallocated either). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WGKS_MAX_ENDPOINTS);
	__type(key, struct wgks_endpoint_key);
	__type(value, struct wgks_owners);
} wgks_endpoints SEC(".maps");

/* Row 7: allowed prefixes (allow-LAN), one longest-prefix lookup a packet. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WGKS_MAX_PREFIXES);
	__type(key, struct wgks_allow4_key);
	__type(value, struct wgks_owners);
} wgks_allow4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WGKS_MAX_PREFIXES);
	__type(key, struct wgks_allow6_key);
	__type(value, struct wgks_owners);
} wgks_allow6 SEC(".maps");

/*
 * Row 2's proof that a device is the protected tunnel, and each namespace's
 * loopback (WGKS_DEV_KEY): a devmap holds its devices by reference and the
 * kernel removes an entry when its device goes. The value is the ifindex.
 */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, WGKS_MAX_NETNS * (WGKS_MAX_TUNNELS + 1));
	__type(key, __u32);
	__type(value, __u32);
} wgks_devices SEC(".maps");

/* Local bridges of containers and VMs (WGKS_INTERNAL_KEY): traffic to them stays on the host. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, WGKS_MAX_INTERNAL);
	__type(key, __u32);
	__type(value, __u32);
} wgks_internal SEC(".maps");

/* Fail fast: connecting sockets whose route looked blocked (failfast.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct wgks_failfast);
} wgks_failfast SEC(".maps");

/* watch: events, who watches, and the per-namespace rate limit. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WGKS_EVENTS_RINGBUF);
} wgks_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wgks_watch);
} wgks_watch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WGKS_MAX_NETNS);
	__type(key, __u32); /* the index of the namespace's counters (wgks_policy) */
	__type(value, struct wgks_evlimit);
} wgks_evlimit SEC(".maps");

#endif
