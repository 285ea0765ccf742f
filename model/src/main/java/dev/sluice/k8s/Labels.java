package dev.sluice.k8s;

import java.util.regex.Pattern;

/** Label key and value syntax, as Kubernetes defines it. */
public final class Labels {
    private static final Pattern NAME = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)");
    private static final Pattern PREFIX = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
    private static final Pattern VALUE = Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?");

    private Labels() {}

    public static boolean validKey(String key) {
        int slash = key.indexOf('/');
        if (slash < 0) return NAME.matcher(key).matches();
        return PREFIX.matcher(key.substring(0, slash)).matches() && NAME.matcher(key.substring(slash + 1)).matches();
    }

    public static boolean validValue(String value) {
        return value.length() <= 63 && VALUE.matcher(value).matches();
    }

    /** Throws naming {@code at.key} when the key or value is not valid label syntax. */
    public static void validate(Node at, String key, String value) {
        if (!validKey(key)) throw at.error(key, "invalid label key (expected: [prefix/]name, name of at most 63 alphanumerics, '-', '_', '.')");
        if (!validValue(value)) throw at.error(key, "\"" + value + "\" invalid label value (expected: at most 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric)");
    }
}
