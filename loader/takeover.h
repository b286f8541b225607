/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Taking over what another version of wgks-bpf attached (maps of another
 * layout: oldmaps.h), as a package upgrade needs: no moment unprotected,
 * no policy lost.
 *   1. This build's programs are loaded, with maps of their own.
 *   2. Every namespace's policy, endpoints and allowed prefixes are copied
 *      into them by field names (layout.c), lockdown with them.
 *   3. What the old layout lacks is learnt inside each namespace the
 *      command can reach (nsenum.c): each tunnel's device (wgks_devices,
 *      if it still is that tunnel), whether it is WireGuard, its listen
 *      port and own sockets; the namespace's loopback. A tunnel whose
 *      device cannot be told keeps passing by its ifindex alone
 *      (WGKS_T_NO_DEVICE), as the old version let it, until attach runs
 *      there; one whose device is gone stays blocked.
 *   4. The egress program, then the sock_ops program, each replaces the
 *      old one in its place on the cgroup (BPF_F_REPLACE): packets meet
 *      the old policy, then the same policy in the new maps.
 *   5. The backstop in each reachable namespace: this build's program in
 *      the old one's place on each device, as every command puts it on
 *      (backstop.h): on tcx replaced in place (BPF_F_REPLACE), an old
 *      clsact filter moved to tcx through the handover program; on
 *      clsact replaced in place (BPF_TC_F_REPLACE); put on where the old
 *      had none.
 *   6. What the old programs counted until then is added to the counters.
 * Until 4 nothing the kernel runs has changed: a failure leaves the old
 * version attached as it was, and the command says why. A policy the new
 * layout cannot hold (a field set that it has no place for, one it needs
 * and cannot learn) is never taken over (fail closed).
 */
#ifndef WGKS_TAKEOVER_H
#define WGKS_TAKEOVER_H

#include "context.h"

/*
 * Take over c->st (found, of another version): on success c->st is ours.
 * 0 taken over (or there was nothing to take: no policy, programs
 * detached); -1 nothing changed (the reason in c->st.old->cannot, after
 * err()); -2 the command must stop, after err(): taken over but the
 * backstop is not on every device (run the command again), or this
 * namespace could not be re-entered after visiting the others.
 */
int takeover(struct ks_ctx *c);

#endif
