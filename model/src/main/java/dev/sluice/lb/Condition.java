package dev.sluice.lb;

/**
 * Something to tell about one Service. An ERROR means part of the Service is not programmed (that
 * port, that address); the rest of the Service and every other Service are unaffected.
 *
 * @param reason  a stable CamelCase word, e.g. NodePortInUse, PoolExhausted, NoBackends
 * @param message one line: file, object, field, value and what was expected
 */
public record Condition(Level level, String reason, String message) {
    public enum Level { INFO, ERROR }

    static Condition error(String reason, String message) { return new Condition(Level.ERROR, reason, message); }
    static Condition info(String reason, String message) { return new Condition(Level.INFO, reason, message); }
}
