package dev.sluice.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * tc (clsact) attachment through libbpf's netlink helpers. Every call acts on an interface of the
 * network namespace of the CALLING THREAD: to work on another namespace, call from inside
 * {@link Netns#inNetns}. Filters are direct-action BPF filters identified by (handle, priority).
 */
public final class Tc {
    private Tc() {}

    public enum Direction {
        INGRESS(1), EGRESS(2);   // enum bpf_tc_attach_point

        final int point;

        Direction(int point) { this.point = point; }
    }

    private static final int BPF_TC_F_REPLACE = 1;

    private static MemorySegment hook(Arena a, int ifindex, int point) {
        MemorySegment h = a.allocate(Libbpf.TC_HOOK);
        h.set(JAVA_LONG, Libbpf.off(Libbpf.TC_HOOK, "sz"), Libbpf.TC_HOOK.byteSize());
        h.set(JAVA_INT, Libbpf.off(Libbpf.TC_HOOK, "ifindex"), ifindex);
        h.set(JAVA_INT, Libbpf.off(Libbpf.TC_HOOK, "attach_point"), point);
        return h;
    }

    private static MemorySegment opts(Arena a, int progFd, int flags, int handle, int priority) {
        MemorySegment o = a.allocate(Libbpf.TC_OPTS);
        o.set(JAVA_LONG, Libbpf.off(Libbpf.TC_OPTS, "sz"), Libbpf.TC_OPTS.byteSize());
        o.set(JAVA_INT, Libbpf.off(Libbpf.TC_OPTS, "prog_fd"), progFd);
        o.set(JAVA_INT, Libbpf.off(Libbpf.TC_OPTS, "flags"), flags);
        o.set(JAVA_INT, Libbpf.off(Libbpf.TC_OPTS, "handle"), handle);
        o.set(JAVA_INT, Libbpf.off(Libbpf.TC_OPTS, "priority"), priority);
        return o;
    }

    private static void checkIds(int ifindex, int handle, int priority) {
        if (ifindex <= 0) throw new IllegalArgumentException("ifindex: " + ifindex + " (expected: > 0)");
        if (handle <= 0) throw new IllegalArgumentException("handle: " + handle + " (expected: > 0)");
        if (priority <= 0 || priority > 0xffff) throw new IllegalArgumentException("priority: " + priority + " (expected: 1-65535)");
    }

    private static String subject(int ifindex, Direction d) {
        return "tc ifindex " + ifindex + (d == null ? "" : " " + d.name().toLowerCase());
    }

    /** Creates the clsact qdisc on the interface (bpf_tc_hook_create); already present is fine. */
    public static void ensureClsact(int ifindex) {
        if (ifindex <= 0) throw new IllegalArgumentException("ifindex: " + ifindex + " (expected: > 0)");
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.call(Libbpf.TC_HOOK_CREATE, a, hook(a, ifindex, Direction.INGRESS.point | Direction.EGRESS.point));
            if (r < 0 && -r != Libbpf.EEXIST) throw new BpfException(subject(ifindex, null), "bpf_tc_hook_create (clsact)", -r);
        }
    }

    /**
     * Attaches {@code p} as a direct-action filter, replacing a filter with the same handle and
     * priority (BPF_TC_F_REPLACE). Creates the clsact qdisc first when absent.
     */
    public static void attach(int ifindex, Direction d, BpfProgram p, int handle, int priority) {
        checkIds(ifindex, handle, priority);
        ensureClsact(ifindex);
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.call(Libbpf.TC_ATTACH, a, hook(a, ifindex, d.point), opts(a, p.fd(), BPF_TC_F_REPLACE, handle, priority));
            if (r < 0) throw new BpfException(subject(ifindex, d), "bpf_tc_attach program '" + p.name() + "' handle "
                    + handle + " priority " + priority, -r);
        }
    }

    /** Removes the filter (handle, priority); absent filter or qdisc is fine. */
    public static void detach(int ifindex, Direction d, int handle, int priority) {
        checkIds(ifindex, handle, priority);
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.call(Libbpf.TC_DETACH, a, hook(a, ifindex, d.point), opts(a, 0, 0, handle, priority));
            if (r < 0 && !absent(-r)) throw new BpfException(subject(ifindex, d), "bpf_tc_detach handle " + handle
                    + " priority " + priority, -r);
        }
    }

    /** The kernel id of the program attached at (handle, priority), if any (bpf_tc_query). */
    public static Optional<Integer> attachedProgramId(int ifindex, Direction d, int handle, int priority) {
        checkIds(ifindex, handle, priority);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment o = opts(a, 0, 0, handle, priority);
            int r = Libbpf.call(Libbpf.TC_QUERY, a, hook(a, ifindex, d.point), o);
            if (r < 0 && absent(-r)) return Optional.empty();
            if (r < 0) throw new BpfException(subject(ifindex, d), "bpf_tc_query handle " + handle + " priority " + priority, -r);
            return Optional.of(o.get(JAVA_INT, Libbpf.off(Libbpf.TC_OPTS, "prog_id")));
        }
    }

    // The kernel says ENOENT for a missing filter and EINVAL when the clsact qdisc itself is missing.
    private static boolean absent(int errno) {
        return errno == Libbpf.ENOENT || errno == Libbpf.EINVAL;
    }
}
