package dev.sluice.policy;

/**
 * DNS name rules shared by {@link DnsRule} (rules.dns) and {@link FqdnSelector} (toFQDNs), with
 * Cilium's semantics: names are compared in lower case as fully qualified names (with the trailing
 * dot); a matchName holds letters, digits, '-', '_' and '.'; a matchPattern also '*', which stands
 * for any run (possibly empty) of those characters but '.' inside one label; a pattern that is
 * {@code *} alone matches every well-formed name, the root "." included. Matching is a linear scan,
 * no regular expression, so a hostile pattern or query name cannot make it slow.
 */
final class DnsNames {
    private DnsNames() {}

    /** RFC 1035: a name is at most 255 octets on the wire, 253 characters in text plus the root dot. */
    static final int MAX_NAME = 254;
    static final int MAX_LABEL = 63;

    static boolean nameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    /**
     * ASCII lower case only: {@link String#toLowerCase} would turn the Kelvin sign (U+212A) into 'k'
     * and the dotted capital I into 'i', so a query name with them would match a rule for a name
     * the upstream server never resolves for it.
     */
    static String asciiLower(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(c >= 'A' && c <= 'Z' ? (char) (c + 32) : c);
        }
        return sb.toString();
    }

    /** Lower case with the trailing dot ("." stays "."); null when {@code s} is not a well-formed name. */
    static String normalise(String s) {
        if (s == null) return null;
        String n = asciiLower(s);
        if (n.equals(".")) return n;
        if (!n.endsWith(".")) n = n + ".";
        if (n.length() > MAX_NAME) return null;
        int label = 0;
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            if (c == '.') {
                if (label == 0) return null;
                label = 0;
            } else if (nameChar(c) && ++label <= MAX_LABEL) {
                continue;
            } else {
                return null;
            }
        }
        return n;
    }

    /**
     * Why {@code raw} is not a valid matchName ({@code pattern} false) or matchPattern (true), or
     * null when it is. The caller puts it into a one-line error naming the field.
     */
    static String problem(String raw, boolean pattern) {
        if (raw == null || raw.isBlank()) return "empty";
        String s = asciiLower(raw.trim());
        if (pattern && s.equals("*")) return null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!nameChar(c) && c != '.' && !(pattern && c == '*'))
                return "character '" + c + "' at " + i + " (expected only letters, digits, '-', '_', '.'" + (pattern ? " and '*'" : "") + ")";
        }
        if (pattern && s.contains("**")) return "'**' (expected: '*' within one label; '**' is not supported by Sluice)";
        String n = s.endsWith(".") ? s : s + ".";
        if (n.equals(".")) return pattern ? "\".\" (expected: a name or pattern; \"*\" matches every name)" : null;
        if (n.length() > MAX_NAME) return "longer than 253 characters (expected: a DNS name)";
        if (n.startsWith(".") || n.contains("..")) return "an empty label (expected: labels separated by single dots)";
        for (String l : n.split("\\.")) if (l.replace("*", "").length() > MAX_LABEL) return "label \"" + l + "\" longer than 63 characters";
        return null;
    }

    /** Canonical form of a valid matchName or matchPattern: lower case, trailing dot ("*" alone stays). */
    static String canonical(String raw) {
        String s = asciiLower(raw.trim());
        if (s.equals("*")) return s;
        return s.endsWith(".") ? s : s + ".";
    }

    /** Whether a canonical pattern matches a name; {@code name} is normalised first, a malformed one matches nothing. */
    static boolean matches(String pattern, String name) {
        String n = normalise(name);
        if (n == null) return false;
        if (pattern.equals("*")) return true;
        return glob(pattern, n);
    }

    /** '*' matches a run of name characters (never '.'); everything else literally. Greedy with one backtrack point: linear. */
    private static boolean glob(String p, String n) {
        int pi = 0, ni = 0, star = -1, mark = 0;
        while (ni < n.length()) {
            if (pi < p.length() && p.charAt(pi) == '*') {
                star = pi++;
                mark = ni;
            } else if (pi < p.length() && p.charAt(pi) == n.charAt(ni)) {
                pi++;
                ni++;
            } else if (star >= 0 && nameChar(n.charAt(mark))) {
                // let the last '*' take one more character, but never a dot
                pi = star + 1;
                ni = ++mark;
            } else {
                return false;
            }
        }
        while (pi < p.length() && p.charAt(pi) == '*') pi++;
        return pi == p.length();
    }
}
