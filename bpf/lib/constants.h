/* Keeps every shared constant in the object's BTF. An enum constant used only as a value leaves
 * no BTF; a read-only global whose struct has a member of each enum type does (it lives in the
 * object's .rodata, created per load and never pinned).
 * The agent reads these enums when it loads an object and checks them against its Java
 * counterparts (dev.sluice.datapath.DatapathConstants): a stale build/bpf is refused by name.
 * Include it last in every entry file. */
#ifndef SLUICE_CONSTANTS_H
#define SLUICE_CONSTANTS_H

#include "common.h"
#include "drop.h"
#include "maps.h"
#include "conntrack.h"
#include "nat.h"
#include "lb.h"
#include "policy.h"
#include "l2.h"
#include "proxy.h"

struct sl_constants {
	enum sl_identity identity;
	enum sl_mark mark;
	enum sl_direction direction;
	enum sl_reason reason;
	enum sl_event_type event;
	enum sl_obs_point obs_point;
	enum sl_monitor_aggregation monitor_aggregation;
	enum sl_flow_ct flow_ct;
	enum sl_policy_match policy_match;
	enum sl_ipcache_flags ipcache_flags;
	enum sl_config_flags config_flags;
	enum sl_ct_dir ct_dir;
	enum sl_ct_flags ct_flags;
	enum sl_nat_dir nat_dir;
	enum sl_nat_flags nat_flags;
	enum sl_lb_flags lb_flags;
	enum sl_lb_type lb_type;
	enum sl_lb_config_flags lb_config_flags;
	enum sl_verdict verdict;
	enum sl_endpoint_flags endpoint_flags;
	enum sl_l2_outcome l2_outcome;
	enum sl_l7 l7;
	enum sl_proxy_slot proxy_slot;
};

const volatile struct sl_constants sl_constants_btf __attribute__((used)) = {};

#endif
