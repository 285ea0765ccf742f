package dev.sluice.k8s;

import java.io.FilterReader;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MappingIterator;
import tools.jackson.dataformat.yaml.YAMLMapper;
import tools.jackson.dataformat.yaml.YAMLParser;

/**
 * Parses manifest text (multi-document YAML or JSON, and {@code kind: List}) into {@link KubeObject}s.
 * Pure: the caller supplies the text and the file name used in messages.
 */
public final class ManifestReader {
    /** A key given twice is an error, as in kubectl, rather than the last one silently winning. */
    private static final YAMLMapper YAML = YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    /** RFC 1123 label: what Kubernetes requires of namespace names. */
    static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    /** RFC 1123 subdomain: what Kubernetes requires of most object names. */
    static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

    private ManifestReader() {}

    public static List<KubeObject> parse(String file, String text) {
        Parsed p = parseEach(file, text);
        if (!p.errors().isEmpty()) throw p.errors().get(0);
        return p.objects();
    }

    /**
     * What one file holds: the objects that read, and one error for each that did not (or for the
     * text from a syntax error on, which cannot be read at all).
     */
    public record Parsed(List<KubeObject> objects, List<ManifestException> errors) {}

    /** Like {@link #parse}, but an object that does not read is reported and the others are kept. */
    public static Parsed parseEach(String file, String text) {
        List<KubeObject> out = new ArrayList<>();
        List<ManifestException> errors = new ArrayList<>();
        List<JsonNode> docs = new ArrayList<>();
        ManifestException unreadable = readDocuments(file, text, docs);
        for (int i = 0; i < docs.size(); i++) {
            JsonNode n = docs.get(i);
            if (n == null || n.isNull() || n.isMissingNode()) continue;
            collect(new Node(n, file, "document " + (i + 1), ""), out, errors);
        }
        if (unreadable != null) errors.add(unreadable);
        return new Parsed(List.copyOf(out), List.copyOf(errors));
    }

    /**
     * The YAML (or JSON) documents of a file, empty ones as null. Duplicate keys and aliases are
     * errors naming the line: the reader would otherwise keep the last duplicate, and read an alias
     * {@code *x} as the plain word "x" rather than the value it refers to.
     */
    public static List<JsonNode> documents(String file, String text) {
        List<JsonNode> out = new ArrayList<>();
        ManifestException e = readDocuments(file, text, out);
        if (e != null) throw e;
        return out;
    }

    /** Adds the documents before the first error to {@code out}; returns that error, or null. */
    private static ManifestException readDocuments(String file, String text, List<JsonNode> out) {
        try {
            try (JsonParser p = YAML.createParser(reader(text))) {
                while (p.nextToken() != null) {
                    if (((YAMLParser) p).isCurrentAlias()) {
                        return new ManifestException(file, "line " + p.currentTokenLocation().getLineNr(), "",
                                "YAML alias *" + p.getString() + " (expected: the value written out; aliases are not supported)");
                    }
                }
            } catch (JacksonException syntax) {
                // reported by the read below, after the documents before it
            }
            try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(reader(text))) {
                while (it.hasNextValue()) out.add(it.nextValue());
            }
        } catch (JacksonException e) {
            String msg = e.getOriginalMessage().lines().findFirst().orElse("syntax error");
            var loc = e.getLocation();
            String where = loc != null && loc.getLineNr() > 0 ? "line " + loc.getLineNr() : "document " + (out.size() + 1);
            return new ManifestException(file, where, "", "not valid YAML: " + msg);
        }
        return null;
    }

    /**
     * The text for the YAML parser, never more than one char short of a full buffer per read:
     * snakeyaml-engine 3.0.1 reads one char past its buffer when a full read ends in the first half
     * of a surrogate pair (an emoji across the 1024-char boundary) and throws IndexOutOfBounds.
     */
    private static Reader reader(String text) {
        return new FilterReader(new StringReader(text)) {
            @Override public int read(char[] buf, int off, int len) throws IOException {
                return super.read(buf, off, len > 1 ? len - 1 : len);
            }
        };
    }

    private static void collect(Node n, List<KubeObject> out, List<ManifestException> errors) {
        try {
            n.requireObject();
            String kind = n.has("kind") ? n.get("kind").string() : null;
            if ("List".equals(kind) || (kind != null && kind.endsWith("List") && n.has("items"))) {
                for (Node item : n.list("items")) collect(item, out, errors);
                return;
            }
            out.add(object(n));
        } catch (ManifestException e) {
            errors.add(e);
        }
    }

    /**
     * {@link #object(Node)} for a tree that came from somewhere other than a file (an API server, the
     * CNI): {@code origin} stands for the file in messages, the object is named "Kind ns/name".
     */
    public static KubeObject object(String origin, JsonNode tree) {
        String ns = tree.path("metadata").path("namespace").asString("");
        String name = tree.path("metadata").path("name").asString("");
        return object(new Node(tree, origin, tree.path("kind").asString("") + " " + (ns.isEmpty() ? name : ns + "/" + name), ""));
    }

    /**
     * One object from its tree: checks kind, apiVersion and metadata (what every consumer relies
     * on) and leaves the rest to the typed decoders. Sources other than files (the Kubernetes API)
     * come in here too, so an object reads the same whichever source it came from.
     */
    public static KubeObject object(Node given) {
        // the store keeps the tree as long as the object: in its compact form, read from it from here on
        Node n = given.isNull() || !given.json().isObject() ? given : new Node(CompactJson.of(given.json()), given.file(), given.object(), given.path());
        if (!n.has("kind")) throw n.error("kind", "missing (expected one of: " + String.join(", ", new TreeSet<>(Kinds.ALL.keySet())) + ")");
        String kind = n.string("kind");
        Kinds.Kind k = Kinds.ALL.get(kind);
        if (k == null) throw n.error("kind", kind + " (expected one of: " + String.join(", ", new TreeSet<>(Kinds.ALL.keySet())) + ")");
        String apiVersion = n.has("apiVersion") ? n.string("apiVersion") : "";
        if (!k.apiVersions().contains(apiVersion))
            throw n.error("apiVersion", (apiVersion.isEmpty() ? "missing" : apiVersion) + " (expected for " + kind + ": " + String.join(" or ", new TreeSet<>(k.apiVersions())) + ")");
        Node meta = n.get("metadata");
        if (meta.isNull()) throw n.error("metadata", "missing (expected: an object with name)");
        meta.requireObject();
        String name = meta.string("name");
        if (!DNS_SUBDOMAIN.matcher(name).matches())
            throw meta.error("name", "\"" + name + "\" (expected: lower-case letters, digits, '-' and '.', at most 253)");
        String ns = "";
        if (k.namespaced()) {
            ns = meta.string("namespace", "default");
            if (!DNS_LABEL.matcher(ns).matches())
                throw meta.error("namespace", "\"" + ns + "\" (expected: lower-case letters, digits and '-', at most 63)");
        } else if (kind.equals(Kinds.NAMESPACE) && !DNS_LABEL.matcher(name).matches()) {
            throw meta.error("name", "\"" + name + "\" (expected: lower-case letters, digits and '-', at most 63)");
        }
        Map<String, String> labels = meta.stringMap("labels");
        for (var e : labels.entrySet()) Labels.validate(meta.get("labels"), e.getKey(), e.getValue());
        String display = kind + " " + (ns.isEmpty() ? name : ns + "/" + name);
        return new KubeObject(n.file(), apiVersion, kind, ns, name, labels, n.as(display));
    }
}
