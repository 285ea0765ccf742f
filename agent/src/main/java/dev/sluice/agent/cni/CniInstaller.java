package dev.sluice.agent.cni;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * Installs the CNI plugin on a real node: the binary into the runtime's plugin directory, then the
 * network configuration list into its configuration directory. The lab never uses this: its kubelet
 * calls build/bin/sluice-cni with a configuration of its own.
 *
 * <p>Both files are replaced by rename, never rewritten in place: a runtime that reads the conflist,
 * or executes the plugin, at that moment sees the old file or the new one, never half of one (and
 * replacing a binary that is being executed fails with ETXTBSY, renaming over it does not). The
 * binary goes first because the conflist is what tells the kubelet the node's network is ready.
 *
 * @param plugin the plugin binary to copy (build/bin/sluice-cni)
 * @param binDir where the runtime looks for plugins (/opt/cni/bin); the copy is named {@value #TYPE}
 * @param confFile the conflist to write (/etc/cni/net.d/05-sluice.conflist; runtimes take the first
 *     file by name, hence the low number)
 * @param socket the agent socket the plugin connects to, as the host sees it
 * @param uninstall remove the conflist when the agent stops cleanly
 */
public record CniInstaller(Path plugin, Path binDir, Path confFile, Path socket, boolean uninstall) {
    public static final String TYPE = "sluice-cni";
    public static final String CONF_NAME = "05-sluice.conflist";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** The conflist: one network named sluice, one plugin whose only own field is the agent socket. */
    public String conflist() {
        Map<String, Object> plugin = new LinkedHashMap<>();
        plugin.put("type", TYPE);
        plugin.put("agentSocket", socket.toString());
        Map<String, Object> list = new LinkedHashMap<>();
        list.put("cniVersion", "1.1.0");
        list.put("name", "sluice");
        list.put("plugins", List.of(plugin));
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(list) + "\n";
    }

    /** Copies the binary, then writes the conflist; running it again rewrites both (idempotent). */
    public void install() throws IOException {
        if (!Files.isRegularFile(plugin))
            throw new IOException("CNI plugin " + plugin + ": missing (expected: the sluice-cni binary, built by `make cbins`)");
        if (!Files.isDirectory(binDir)) throw new IOException("CNI bin dir " + binDir + ": not a directory (expected: the runtime's plugin directory)");
        if (!Files.isDirectory(confFile.getParent()))
            throw new IOException("CNI conf dir " + confFile.getParent() + ": not a directory (expected: the runtime's network configuration directory)");
        replace(binDir.resolve(TYPE), tmp -> Files.copy(plugin, tmp, StandardCopyOption.REPLACE_EXISTING), "rwxr-xr-x");
        byte[] conf = conflist().getBytes(StandardCharsets.UTF_8);
        replace(confFile, tmp -> Files.write(tmp, conf), "rw-r--r--");
    }

    /** Whether the conflist on disk is the one this agent writes (readiness asks this at every probe). */
    public boolean installed() {
        try {
            return Files.isRegularFile(confFile) && Files.readString(confFile).equals(conflist());
        } catch (IOException e) {
            return false;
        }
    }

    /** On a clean stop, when configured: without the conflist the kubelet stops scheduling pods here. */
    public void stop() throws IOException {
        if (uninstall) Files.deleteIfExists(confFile);
    }

    private interface Writer {
        void write(Path tmp) throws IOException;
    }

    /** Writes a temporary file beside {@code target}, syncs it, renames it over the target, syncs the directory. */
    private static void replace(Path target, Writer w, String perms) throws IOException {
        Path dir = target.getParent();
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            w.write(tmp);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(perms));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        // The rename itself is durable only once the directory is synced.
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
