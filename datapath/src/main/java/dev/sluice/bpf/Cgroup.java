package dev.sluice.bpf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cgroup v2 attachment of cgroup programs through BPF links (bpf_link_create), pinned in bpffs so
 * that they outlive the process that made them: a restarted agent finds its link at the pin and
 * swaps the program in it (bpf_link_update) without a moment unattached. A link acts on every
 * process of the cgroup and its descendants, whatever their network namespace: callers choose the
 * cgroup with care (see docs/services.md, "Socket load balancing").
 */
public final class Cgroup {
    private Cgroup() {}

    /** The attach points Sluice uses (enum bpf_attach_type). */
    public enum AttachType {
        INET4_CONNECT(10), INET6_CONNECT(11), UDP4_SENDMSG(14), UDP4_RECVMSG(19), UDP6_RECVMSG(20), INET4_GETPEERNAME(29),
        INET6_GETPEERNAME(30);

        final int value;

        AttachType(int value) { this.value = value; }
    }

    /** A pinned link: its kernel id, the program in it, and the cgroup (id = the directory's inode) it acts on. */
    public record Link(Path pin, int id, int programId, long cgroupId, AttachType type) {}

    private static final int O_RDONLY = 0, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    private static final long CGROUP2_SUPER_MAGIC = 0x63677270L;

    /** The mount point of the cgroup v2 hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host). */
    public static Optional<Path> cgroup2Mount() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPEROPTIONS
                int dash = line.indexOf(" - ");
                if (dash < 0 || !line.substring(dash + 3).startsWith("cgroup2 ")) continue;
                String[] f = line.substring(0, dash).split(" ");
                if (f.length > 4) return Optional.of(Path.of(f[4].replace("\\040", " ")));
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** The cgroup id the kernel gives a cgroup v2 directory (its inode number). */
    public static long id(Path cgroup) {
        try {
            return ((Number) Files.getAttribute(cgroup, "unix:ino")).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalArgumentException("cgroup " + cgroup + ": cannot stat (" + e.getMessage() + ")");
        }
    }

    /**
     * Attaches {@code p} at {@code type} of {@code cgroup} through a link pinned at {@code pin}. A link
     * already pinned there on the same cgroup and attach point gets the new program; one on another
     * cgroup (the configuration changed) is detached first. Returns the link as it now is.
     */
    public static Link attach(Path cgroup, AttachType type, BpfProgram p, Path pin) {
        requireCgroup2(cgroup);
        long cgid = id(cgroup);
        Optional<Link> old = pinned(pin);
        if (old.isPresent() && old.get().cgroupId() == cgid && old.get().type() == type) {
            try (Arena a = Arena.ofConfined()) {
                int fd = Libbpf.call(Libbpf.OBJ_GET, a, a.allocateFrom(pin.toString()));
                if (fd < 0) throw new BpfException("link " + pin, "bpf_obj_get", -fd);
                try {
                    int r = Libbpf.call(Libbpf.LINK_UPDATE, a, fd, p.fd(), MemorySegment.NULL);
                    if (r < 0) throw new BpfException("link " + pin, "bpf_link_update program '" + p.name() + "'", -r);
                } finally {
                    Libbpf.call(Libbpf.CLOSE, a, fd);
                }
            }
            return pinned(pin).orElseThrow();
        }
        if (old.isPresent() || Files.exists(pin)) detach(pin);
        try {
            Files.createDirectories(pin.getParent());
        } catch (IOException e) {
            throw new IllegalStateException(pin.getParent() + ": cannot create the link pin directory: " + e.getMessage());
        }
        try (Arena a = Arena.ofConfined()) {
            int cfd = Libbpf.call(Libbpf.OPEN, a, a.allocateFrom(cgroup.toString()), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
            if (cfd < 0) throw new BpfException("cgroup " + cgroup, "open", -cfd);
            try {
                int lfd = Libbpf.call(Libbpf.LINK_CREATE, a, p.fd(), cfd, type.value, MemorySegment.NULL);
                if (lfd < 0) throw new BpfException("cgroup " + cgroup, "bpf_link_create " + type + " program '" + p.name() + "'", -lfd);
                try {
                    int r = Libbpf.call(Libbpf.OBJ_PIN, a, lfd, a.allocateFrom(pin.toString()));
                    if (r < 0) throw new BpfException("link " + pin, "bpf_obj_pin", -r);
                } finally {
                    Libbpf.call(Libbpf.CLOSE, a, lfd);   // the pin keeps the link
                }
            } finally {
                Libbpf.call(Libbpf.CLOSE, a, cfd);
            }
        }
        return pinned(pin).orElseThrow(() -> new IllegalStateException("link " + pin + ": pinned, then not found"));
    }

    /** The link pinned at {@code pin}, if any. */
    public static Optional<Link> pinned(Path pin) {
        if (!Files.exists(pin)) return Optional.empty();
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.call(Libbpf.OBJ_GET, a, a.allocateFrom(pin.toString()));
            if (fd < 0) throw new BpfException("link " + pin, "bpf_obj_get", -fd);
            try {
                var L = Libbpf.LINK_INFO_CGROUP;
                MemorySegment info = a.allocate(L);
                MemorySegment len = a.allocate(JAVA_INT);
                len.set(JAVA_INT, 0, (int) L.byteSize());
                int r = Libbpf.call(Libbpf.OBJ_GET_INFO_BY_FD, a, fd, info, len);
                if (r < 0) throw new BpfException("link " + pin, "bpf_obj_get_info_by_fd", -r);
                int at = info.get(JAVA_INT, Libbpf.off(L, "attach_type"));
                AttachType type = null;
                for (AttachType t : AttachType.values()) if (t.value == at) type = t;
                return Optional.of(new Link(pin, info.get(JAVA_INT, Libbpf.off(L, "id")), info.get(JAVA_INT, Libbpf.off(L, "prog_id")),
                        info.get(JAVA_LONG, Libbpf.off(L, "cgroup_id")), type));
            } finally {
                Libbpf.call(Libbpf.CLOSE, a, fd);
            }
        }
    }

    /** Detaches the link pinned at {@code pin} (bpf_link_detach: even while others hold it) and removes the pin. Absent is fine. */
    public static void detach(Path pin) {
        if (!Files.exists(pin)) return;
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.call(Libbpf.OBJ_GET, a, a.allocateFrom(pin.toString()));
            if (fd >= 0) {
                try {
                    int r = Libbpf.call(Libbpf.LINK_DETACH, a, fd);
                    // a link whose cgroup is gone is already detached
                    if (r < 0 && -r != Libbpf.ENOENT && -r != Libbpf.EINVAL && -r != Libbpf.ENOLINK)
                        throw new BpfException("link " + pin, "bpf_link_detach", -r);
                } finally {
                    Libbpf.call(Libbpf.CLOSE, a, fd);
                }
            }
        }
        try {
            Files.deleteIfExists(pin);
        } catch (IOException e) {
            throw new IllegalStateException("link " + pin + ": cannot remove the pin: " + e.getMessage());
        }
    }

    /** Ids of the programs attached directly to {@code cgroup} at {@code type} (bpf_prog_query; not inherited ones). */
    public static List<Integer> attachedProgramIds(Path cgroup, AttachType type) {
        try (Arena a = Arena.ofConfined()) {
            int cfd = Libbpf.call(Libbpf.OPEN, a, a.allocateFrom(cgroup.toString()), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
            if (cfd < 0) throw new BpfException("cgroup " + cgroup, "open", -cfd);
            try {
                int max = 64;
                MemorySegment ids = a.allocate(JAVA_INT, max);
                MemorySegment cnt = a.allocate(JAVA_INT);
                cnt.set(JAVA_INT, 0, max);
                int r = Libbpf.call(Libbpf.PROG_QUERY, a, cfd, type.value, 0, MemorySegment.NULL, ids, cnt);
                if (r < 0) throw new BpfException("cgroup " + cgroup, "bpf_prog_query " + type, -r);
                List<Integer> out = new ArrayList<>();
                for (int i = 0; i < Math.min(max, cnt.get(JAVA_INT, 0)); i++) out.add(ids.getAtIndex(JAVA_INT, i));
                return out;
            } finally {
                Libbpf.call(Libbpf.CLOSE, a, cfd);
            }
        }
    }

    private static void requireCgroup2(Path cgroup) {
        if (!Files.isDirectory(cgroup)) throw new IllegalArgumentException("cgroup " + cgroup + ": no such directory (expected: a cgroup v2 directory)");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(120, 8);   // struct statfs; f_type is its first member (long)
            int r = Libbpf.call(Libbpf.STATFS, a, a.allocateFrom(cgroup.toString()), st);
            if (r < 0) throw new BpfException("cgroup " + cgroup, "statfs", -r);
            long type = st.get(JAVA_LONG, 0);
            if (type != CGROUP2_SUPER_MAGIC)
                throw new IllegalArgumentException("cgroup " + cgroup + ": not on a cgroup2 file system (f_type 0x" + Long.toHexString(type)
                        + ", expected: 0x63677270; the cgroup2 mount here is " + cgroup2Mount().map(Path::toString).orElse("absent") + ")");
        }
    }
}
