// SPDX-License-Identifier: GPL-2.0-only
#include <bpf/bpf.h>
#include "devices.h"

int devices_set(const struct ks_maps *m, uint32_t index, uint32_t slot, uint32_t ifindex)
{
	uint32_t key = WGKS_DEV_KEY(index, slot);

	return bpf_map_update_elem(m->devices, &key, &ifindex, BPF_ANY);
}

uint32_t devices_get(const struct ks_maps *m, uint32_t index, uint32_t slot)
{
	uint32_t key = WGKS_DEV_KEY(index, slot), ifindex = 0;

	return bpf_map_lookup_elem(m->devices, &key, &ifindex) ? 0 : ifindex;
}

void devices_clear(const struct ks_maps *m, uint32_t index, uint32_t slot)
{
	uint32_t key = WGKS_DEV_KEY(index, slot);

	bpf_map_delete_elem(m->devices, &key);
}
