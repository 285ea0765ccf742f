package dev.sluice.bpf;

/** The flags argument of bpf_map_update_elem. */
public enum UpdateFlag {
    /** BPF_ANY: create or replace. */
    ANY(0),
    /** BPF_NOEXIST: create only; EEXIST if present. */
    NOEXIST(1),
    /** BPF_EXIST: replace only; ENOENT if absent. */
    EXIST(2);

    final long bits;

    UpdateFlag(long bits) { this.bits = bits; }
}
