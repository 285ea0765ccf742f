package dev.sluice.cli;

import dev.sluice.BadInputException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** Output helpers shared by commands: pretty JSON and aligned text tables. */
public final class Output {
    public static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private Output() {}

    /** Validates an {@code -o} value. */
    public static String format(String o, String... allowed) {
        for (String a : allowed) if (a.equals(o)) return o;
        throw new BadInputException("-o: " + o + " (expected one of: " + String.join(", ", allowed) + ")");
    }

    public static void json(PrintStream out, Object value) {
        out.println(JSON.writeValueAsString(value));
    }

    /** Prints rows as columns separated by two spaces, the first row being the header. */
    public static void table(PrintStream out, List<List<String>> rows) {
        if (rows.isEmpty()) return;
        int cols = rows.stream().mapToInt(List::size).max().orElse(0);
        int[] w = new int[cols];
        for (var r : rows) for (int i = 0; i < r.size(); i++) w[i] = Math.max(w[i], r.get(i).length());
        for (var r : rows) {
            var sb = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                sb.append(r.get(i));
                if (i < r.size() - 1) sb.append(" ".repeat(w[i] - r.get(i).length() + 2));
            }
            out.println(sb.toString().stripTrailing());
        }
    }

    public static List<String> row(Object... cells) {
        List<String> r = new ArrayList<>();
        for (Object c : cells) r.add(String.valueOf(c));
        return r;
    }
}
