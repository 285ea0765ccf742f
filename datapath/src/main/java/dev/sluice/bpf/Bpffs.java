package dev.sluice.bpf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** The BPF filesystem, where maps are pinned. */
public final class Bpffs {
    private Bpffs() {}

    static final long BPF_FS_MAGIC = 0xcafe4a11L;

    /**
     * Makes {@code dir} a directory on bpffs: if it (or its nearest existing ancestor) is already on
     * bpffs, creates the missing directories; otherwise creates {@code dir} and mounts bpffs on it
     * ({@code mount -t bpf bpf dir}). Needs CAP_SYS_ADMIN for the mount.
     */
    public static void ensureMounted(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.isDirectory(existing)) existing = existing.getParent();
        try {
            if (existing != null && isBpffs(existing)) {
                Files.createDirectories(abs);
                return;
            }
            Files.createDirectories(abs);
        } catch (IOException e) {
            throw new UncheckedIOException("bpffs " + abs + ": cannot create directory", e);
        }
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.call(Libbpf.MOUNT, a, a.allocateFrom("bpf"), a.allocateFrom(abs.toString()), a.allocateFrom("bpf"),
                    0L, MemorySegment.NULL);
            if (r < 0) throw new BpfException("bpffs " + abs, "mount -t bpf", -r);
        }
    }

    /** statfs(2) f_type == BPF_FS_MAGIC. */
    public static boolean isBpffs(Path dir) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256, 8);   // struct statfs is 120 bytes on x86_64; f_type first
            int r = Libbpf.call(Libbpf.STATFS, a, a.allocateFrom(dir.toString()), buf);
            if (r < 0) throw new BpfException("path " + dir, "statfs", -r);
            return (buf.get(JAVA_LONG, 0) & 0xffffffffL) == BPF_FS_MAGIC;
        }
    }
}
