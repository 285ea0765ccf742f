package dev.sluice.cli.audit;

import dev.sluice.cli.Output;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** How an audit prints: a table with the evidence and fix of each finding that is not a pass, or JSON. */
public final class AuditReport {
    private AuditReport() {}

    public static Map<String, Object> json(String source, List<Finding> findings) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("source", source);
        out.put("result", Checks.overall(findings));
        out.put("checks", findings);
        return out;
    }

    public static void table(PrintStream out, String source, List<Finding> findings) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(Output.row("CHECK", "STATUS", "SUMMARY"));
        for (Finding f : findings) rows.add(Output.row(f.check(), f.status().toUpperCase(), f.summary()));
        out.println("Audit of " + source);
        Output.table(out, rows);
        for (Finding f : findings) {
            if (f.status().equals(Finding.PASS) || f.status().equals(Finding.SKIP)) continue;
            out.println();
            out.println(f.check() + " (" + f.status() + "): " + f.summary());
            for (String e : f.evidence()) out.println("  - " + e);
            if (!f.fix().isEmpty()) out.println("  fix: " + f.fix());
        }
        long fail = count(findings, Finding.FAIL), warn = count(findings, Finding.WARN), pass = count(findings, Finding.PASS),
                skip = count(findings, Finding.SKIP);
        out.println();
        out.println("result: " + Checks.overall(findings) + " (" + pass + " pass, " + warn + " warn, " + fail + " fail, " + skip + " skipped)");
    }

    private static long count(List<Finding> fs, String status) { return fs.stream().filter(f -> f.status().equals(status)).count(); }
}
