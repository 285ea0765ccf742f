/* Keeps the BTF of structs that no map declares as key or value (ring buffer records), so the
 * Java layout test can check them. Never loaded. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_event);
} sl_layout_flow_event SEC(".maps");

char _license[] SEC("license") = "GPL";
