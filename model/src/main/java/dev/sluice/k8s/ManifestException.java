package dev.sluice.k8s;

/**
 * Bad input in a manifest or values file. The message is one line naming the file, the object,
 * the field path and what was expected, e.g.
 * {@code pods.yaml: Pod x/a: spec.containers[0].ports[0].containerPort: 70000 (expected: 1-65535)}.
 */
public final class ManifestException extends RuntimeException {
    private final String file;
    private final String object;
    private final String field;
    private final String problem;

    public ManifestException(String file, String object, String field, String problem) {
        super(format(file, object, field, problem));
        this.file = file;
        this.object = object;
        this.field = field;
        this.problem = problem;
    }

    private static String format(String file, String object, String field, String problem) {
        var sb = new StringBuilder();
        if (file != null && !file.isEmpty()) sb.append(file).append(": ");
        if (object != null && !object.isEmpty()) sb.append(object).append(": ");
        if (field != null && !field.isEmpty()) sb.append(cut(field)).append(": ");
        sb.append(cut(problem));
        return oneLine(sb.toString());
    }

    /** A part longer than 1000 characters (a huge value echoed) keeps its start and its end, where "(expected: ...)" is. */
    private static String cut(String s) {
        return s.length() <= 1000 ? s : s.substring(0, 400) + "...(" + (s.length() - 800) + " more characters)..." + s.substring(s.length() - 400);
    }

    /** Control characters from the input (a newline in a name) escaped, so the message stays one line. */
    static String oneLine(String s) {
        var sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.toString();
    }

    public String file() { return file; }
    public String object() { return object; }
    public String field() { return field; }
    public String problem() { return problem; }
}
