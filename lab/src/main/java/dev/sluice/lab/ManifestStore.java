package dev.sluice.lab;

import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The cluster state of a lab as the API server would hold it: one YAML file per object at
 * {@code <dir>/<kind lower>/<namespace or _cluster>/<name>.yaml}, plus {@code .generation}, a decimal
 * integer rewritten (temp file + rename) after the manifests it covers. Agents watch this directory;
 * files are replaced atomically so they never read half of one. Not thread-safe by itself: callers
 * serialize writes.
 */
public final class ManifestStore implements ClusterStore {
    static final YAMLMapper YAML = YAMLMapper.builder().build();
    private final Path dir;

    public ManifestStore(Path dir) { this.dir = dir; }

    public Path dir() { return dir; }

    /** The path of an object's file. */
    public Path file(String kind, String namespace, String name) {
        return dir.resolve(kind.toLowerCase()).resolve(namespace.isEmpty() ? "_cluster" : namespace).resolve(name + ".yaml");
    }

    @Override public Barrier commit() { return new Barrier(bump(), java.util.Map.of()); }

    @Override public List<String> agentFlags() { return List.of("--manifests", dir.toString()); }

    @Override public List<KubeObject> all() {
        if (!Files.isDirectory(dir)) return List.of();
        return ManifestFiles.load(List.of(dir));
    }

    @Override public List<KubeObject> all(String kind) {
        return all().stream().filter(o -> o.kind().equals(kind)).toList();
    }

    @Override public Optional<KubeObject> get(String kind, String namespace, String name) {
        Path f = file(kind, namespace, name);
        if (!Files.isRegularFile(f)) return Optional.empty();
        return ManifestFiles.load(List.of(f)).stream().findFirst();
    }

    /** Writes an object (its kind and metadata say where); namespaced objects get metadata.namespace set. */
    @Override public JsonNode put(JsonNode body) {
        ObjectNode o = (ObjectNode) body.deepCopy();
        String kind = o.path("kind").asString();
        ObjectNode meta = (ObjectNode) o.get("metadata");
        String name = meta.path("name").asString();
        String ns = "";
        var k = Kinds.ALL.get(kind);
        if (k != null && k.namespaced()) {
            ns = meta.path("namespace").asString("default");
            if (ns.isEmpty()) ns = "default";
            meta.put("namespace", ns);
        }
        writeAtomically(file(kind, ns, name), YAML.writeValueAsString(o));
        return o;
    }

    @Override public void remove(String kind, String namespace, String name) {
        try {
            Files.deleteIfExists(file(kind, namespace, name));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + file(kind, namespace, name) + ": " + e.getMessage(), e);
        }
    }

    public Path generationFile() { return dir.resolve(".generation"); }

    /** The generation the stored manifests are at; 0 before the first. */
    public long generation() {
        try {
            return Long.parseLong(Files.readString(generationFile()).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Announces a change: generation + 1, written after the manifests it covers. Returns it. */
    public long bump() {
        long g = generation() + 1;
        writeAtomically(generationFile(), g + "\n");
        return g;
    }

    static void writeAtomically(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.writeString(tmp, text);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Every stored file, for diagnostics. */
    public List<Path> files() {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.walk(dir)) {
            return new ArrayList<>(s.filter(Files::isRegularFile).sorted().toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
