package dev.sluice.cli.audit;

import java.util.List;

/**
 * One audit check's result: its name, status, the evidence it saw and the fix.
 *
 * @param status   {@code pass}, {@code warn}, {@code fail} or {@code skip} (the check needs what
 *                 the input does not have, e.g. a live lab)
 * @param evidence what was seen, one fact per line, most important first
 * @param fix      what to do; empty when there is nothing to do
 */
public record Finding(String check, String status, String summary, List<String> evidence, String fix) {
    public static final String PASS = "pass", WARN = "warn", FAIL = "fail", SKIP = "skip";

    public Finding {
        evidence = List.copyOf(evidence);
    }

    static Finding pass(String check, String summary, List<String> evidence) { return new Finding(check, PASS, summary, evidence, ""); }

    static Finding skip(String check, String why) { return new Finding(check, SKIP, why, List.of(), ""); }
}
