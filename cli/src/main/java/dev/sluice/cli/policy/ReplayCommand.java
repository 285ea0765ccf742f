package dev.sluice.cli.policy;

import dev.sluice.cli.Output;
import dev.sluice.k8s.ManifestFiles;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.policy.flows.FlowVerdicts;
import dev.sluice.policy.flows.PolicyReplay;
import dev.sluice.policy.flows.RecordedFlow;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sluice policy replay}: recorded flows against a proposed set of policies, offline, with
 * the data path's own lookup; which flows would change verdict. Exit 0: none; 1: some; 2: bad input.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Replay recorded flows against proposed policies: which would change verdict (FORWARDED <-> DROPPED), by policy and workload pair.",
                "The manifests (-f) are every policy the cluster would hold, plus optionally Namespaces and Pods (labels, container ports);"
                        + " other pods come from the flows. Exit code: 0 no flow changes, 1 some flow changes verdict, 2 bad input."})
public final class ReplayCommand implements Callable<Integer> {
    @Mixin PolicyCommand.Common common;
    @Mixin FlowInput input;
    @Option(names = "--follow", description = "Keep replaying flows as the agents record them (one line per changing flow).")
    boolean follow;

    @Override public Integer call() {
        Output.format(common.output, "table", "json");
        EngineConfig cfg = common.config();
        PolicyInputs proposed = PolicyInputs.decodeStrict(ManifestFiles.load(common.files));
        if (follow) return follow(proposed, cfg);
        PolicyReplay.Report r = PolicyReplay.replay(proposed, cfg, input.read());
        if (common.output.equals("json")) Output.json(System.out, r);
        else print(r);
        for (String n : r.notes()) System.err.println("sluice: note: " + n);
        return r.changed() == 0 ? 0 : 1;
    }

    private void print(PolicyReplay.Report r) {
        var out = System.out;
        if (!r.groups().isEmpty()) {
            List<List<String>> rows = new ArrayList<>();
            rows.add(Output.row("CHANGE", "POLICY", "DIRECTION", "FROM", "TO", "PORTS", "FLOWS"));
            for (var g : r.groups())
                rows.add(Output.row(g.change(), g.policies().isEmpty() ? "(none)" : String.join(", ", g.policies()), g.direction(),
                        g.from(), g.to(), String.join(",", g.ports()), g.flows().size()));
            Output.table(out, rows);
            out.println();
            for (var g : r.groups()) {
                out.println(g.change() + ": " + g.from() + " -> " + g.to() + " (" + g.direction() + ")");
                for (var c : g.flows()) out.println("  " + line(c));
            }
            out.println();
        }
        List<String> skipped = new ArrayList<>();
        r.skipped().forEach((why, n) -> skipped.add(n + " " + why));
        out.println(r.flows() + " flows, " + r.evaluated() + " with a policy verdict: " + r.changed() + " would change verdict"
                + (skipped.isEmpty() ? "" : "; skipped: " + String.join(", ", skipped)));
    }

    static String line(PolicyReplay.Change c) {
        return c.where() + " " + c.from() + " -> " + c.to() + " " + c.l4() + (c.reply() ? " (reply)" : "") + " " + c.recorded() + " -> "
                + c.replayed() + ": " + c.reason();
    }

    /** Flows as they come; the verdicts are recomputed when a flow names a pod or labels not seen yet. */
    private int follow(PolicyInputs proposed, EngineConfig cfg) {
        List<RecordedFlow> seen = new ArrayList<>();
        Map<String, RecordedFlow.Peer> pods = new LinkedHashMap<>();
        FlowVerdicts[] v = {new FlowVerdicts(proposed, cfg, seen)};
        int[] changed = {0};
        input.follow(f -> {
            if (!f.evaluated()) return;
            boolean fresh = false;
            for (RecordedFlow.Peer p : List.of(f.source(), f.destination()))
                if (p.isPod() && !p.equals(pods.put(p.key(), p))) fresh = true;
            if (fresh) {
                seen.add(f);
                v[0] = new FlowVerdicts(proposed, cfg, seen);
            }
            FlowVerdicts.Verdict now = v[0].verdict(f);
            if (now.verdict().equals(f.policyVerdict())) return;
            changed[0]++;
            var c = new PolicyReplay.Change(f.where(), f.time(), f.node(), f.opener().display(), f.responder().display(), f.l4(), f.reply(),
                    f.direction().word(), f.verdict(), now.verdict(), now.reason());
            if (common.output.equals("json")) System.out.println(Output.JSON.valueToTree(c).toString());
            else System.out.println(line(c));
            System.out.flush();
        });
        return changed[0] == 0 ? 0 : 1;
    }
}
