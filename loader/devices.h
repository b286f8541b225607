/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wgks_devices: row 2's proof that a device is the protected tunnel, and
 * the proof that a namespace still exists. An entry holds a device by
 * reference, resolved in the namespace of the process that writes it, and
 * the kernel removes it when the device is deleted or leaves the namespace.
 */
#ifndef WGKS_DEVICES_H
#define WGKS_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include "maps.h"

/*
 * Slot SLOT (or WGKS_DEV_LOOPBACK) of the namespace at counters INDEX is
 * device IFINDEX of this namespace. 0, or -1 with errno (the device is gone).
 */
int devices_set(const struct ks_maps *m, uint32_t index, uint32_t slot, uint32_t ifindex);

/* Its entry: the ifindex, 0 if there is none. */
uint32_t devices_get(const struct ks_maps *m, uint32_t index, uint32_t slot);

/* Remove the entry (gone already is fine). */
void devices_clear(const struct ks_maps *m, uint32_t index, uint32_t slot);

#endif
