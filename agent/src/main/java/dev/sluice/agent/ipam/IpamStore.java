package dev.sluice.agent.ipam;

import dev.sluice.ipam.PodCidrPool;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The node's address allocations, persisted one file per address under {@code dir}. An address is
 * claimed by creating its file exclusively (O_EXCL) and syncing it before it is handed out, so no
 * restart or crash can hand the same address out twice; the worst a crash can do is leak one,
 * which CNI DEL or GC releases by its owner.
 */
public final class IpamStore {
    /** Who holds an address: the CNI attachment (container ID and interface) and the pod. */
    public record Owner(String containerId, String ifname, String pod) {
        String encode() { return containerId + "\n" + ifname + "\n" + pod + "\n"; }

        static Owner decode(String s) {
            String[] p = s.split("\n", -1);
            return new Owner(p.length > 0 ? p[0] : "", p.length > 1 ? p[1] : "", p.length > 2 ? p[2] : "");
        }
    }

    private final Path dir;
    private final PodCidrPool pool;
    private final Map<Integer, Owner> allocated = new HashMap<>();
    private Optional<Integer> last = Optional.empty();

    public IpamStore(Path dir, Cidr podCidr) throws IOException {
        this.dir = dir;
        this.pool = new PodCidrPool(podCidr);
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(".")) { Files.deleteIfExists(p); continue; } // a claim interrupted before rename
                if (n.equals("last")) { last = Optional.of(Ip.parse(Files.readString(p).strip())); continue; }
                if (!Ip.isIpv4(n)) continue;
                int ip = Ip.parse(n);
                if (!pool.usable(ip)) continue; // from an earlier pod CIDR: not ours to hand out
                allocated.put(ip, Owner.decode(Files.readString(p)));
            }
        }
    }

    public Cidr cidr() { return pool.cidr(); }
    public synchronized int used() { return allocated.size(); }
    public long capacity() { return pool.capacity(); }
    public synchronized Map<Integer, Owner> allocations() { return Map.copyOf(allocated); }

    /** Claims the next free address for {@code owner}; throws {@link IpamExhaustedException} when none is left. */
    public synchronized int allocate(Owner owner) throws IOException {
        Set<Integer> taken = new HashSet<>(allocated.keySet());
        while (true) {
            Optional<Integer> next = pool.next(taken, last);
            if (next.isEmpty()) throw new IpamExhaustedException(pool.exhausted());
            int ip = next.get();
            Path f = dir.resolve(Ip.format(ip));
            try {
                Files.write(f, owner.encode().getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, StandardOpenOption.SYNC);
            } catch (FileAlreadyExistsException e) {
                taken.add(ip); // claimed by an earlier run we did not read: never reuse it
                continue;
            }
            allocated.put(ip, owner);
            last = Optional.of(ip);
            Files.writeString(dir.resolve("last"), Ip.format(ip));
            return ip;
        }
    }

    /** Releases every address held by this attachment; returns them. Idempotent. */
    public synchronized List<Integer> release(String containerId, String ifname) throws IOException {
        List<Integer> ips = allocated.entrySet().stream()
                .filter(e -> e.getValue().containerId().equals(containerId) && e.getValue().ifname().equals(ifname))
                .map(Map.Entry::getKey).toList();
        for (int ip : ips) {
            Files.deleteIfExists(dir.resolve(Ip.format(ip)));
            allocated.remove(ip);
        }
        return ips;
    }

    /** The exhausted-pool error: bad input for that pod only. */
    public static final class IpamExhaustedException extends RuntimeException {
        public IpamExhaustedException(String message) { super(message); }
    }
}
