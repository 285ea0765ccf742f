package dev.sluice.k8s;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Reads manifest files and directories (recursively: *.yaml, *.yml, *.json, sorted by path). */
public final class ManifestFiles {
    private ManifestFiles() {}

    public static List<KubeObject> load(List<Path> paths) {
        List<KubeObject> out = new ArrayList<>();
        for (Path p : files(paths)) out.addAll(ManifestReader.parse(p.toString(), read(p)));
        return out;
    }

    /** A manifest file's text; unreadable or not UTF-8 is a ManifestException naming the file. */
    public static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (CharacterCodingException e) {
            throw new ManifestException(p.toString(), "", "", "not UTF-8 text (expected: YAML or JSON in UTF-8)");
        } catch (IOException e) {
            throw new ManifestException(p.toString(), "", "", "cannot read: " + e.getMessage());
        }
    }

    /** The manifest files under the given paths, sorted; a missing path is an error. */
    public static List<Path> files(List<Path> paths) {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    s.filter(Files::isRegularFile).filter(ManifestFiles::isManifest).sorted().forEach(out::add);
                } catch (IOException e) {
                    throw new ManifestException(p.toString(), "", "", "cannot read directory: " + e.getMessage());
                }
            } else if (Files.isRegularFile(p)) {
                out.add(p);
            } else {
                throw new ManifestException(p.toString(), "", "", "no such file or directory (expected: a manifest file or a directory of them)");
            }
        }
        return out;
    }

    static boolean isManifest(Path p) {
        String n = p.getFileName().toString();
        return !n.startsWith(".") && (n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json"));
    }
}
