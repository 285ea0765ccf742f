package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.identity.Reserved;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.net.Ip;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Truth tables for egress named ports (named-egress/cluster.yaml): a named port is the destination
 * pod's container port of that name, so to "any peer" or a CIDR it reaches exactly the pods there
 * that declare the name, each on its own number, and never an address that is not a pod.
 * Rows are destinations, columns TCP/8080 TCP/9090 TCP/8443 UDP/8080; '.' allowed, 'X' dropped.
 */
public class NamedEgressPortTest {
    static final Path DIR = Path.of("src/test/resources/policy/named-egress");
    /** Destinations: a pod of cluster.yaml, or an address that is no pod. */
    public static final List<String> TO = List.of("x/web1", "x/web2", "x/api", "x/admin", "x/db", "x/dns", "10.0.1.200", "8.8.8.8");
    public static final int[][] PROBES = {{6, 8080}, {6, 9090}, {6, 8443}, {17, 8080}};

    public static PolicyEngine engine(String... policyFiles) {
        List<dev.sluice.k8s.KubeObject> objs = new ArrayList<>();
        for (String f : concat("cluster.yaml", policyFiles)) {
            try {
                objs.addAll(ManifestReader.parse(f, Files.readString(DIR.resolve(f))));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        var engine = new PolicyEngine(EngineConfig.DEFAULT);
        engine.load(PolicyInputs.decodeStrict(objs));
        return engine;
    }

    static List<String> concat(String first, String... rest) {
        List<String> out = new ArrayList<>(List.of(first));
        out.addAll(List.of(rest));
        return out;
    }

    /** The destination's identity (world for an address that is no pod) and address. */
    public static int[] peer(PolicyEngine e, String to) {
        Pod p = e.pod(to);
        return p == null ? new int[] {Reserved.WORLD.id, Ip.parse(to)} : new int[] {e.identityOf(to), Ip.parse(p.podIP())};
    }

    static String table(PolicyEngine e) {
        PolicyState s = e.endpoint("x/client").state();
        StringBuilder sb = new StringBuilder();
        for (String to : TO) {
            int[] peer = peer(e, to);
            sb.append(String.format("%-11s", to));
            for (int[] pr : PROBES) sb.append(s.decide(Direction.EGRESS, peer[0], peer[1], pr[0], pr[1], null).allowed() ? '.' : 'X');
            sb.append('\n');
        }
        return sb.toString();
    }

    @Test
    void toAnyPeerReachesEachDeclaringPodOnItsOwnNumberAndNoOtherAddress() {
        assertThat(table(engine("to-any.yaml"))).isEqualTo("""
                x/web1     .XXX
                x/web2     .XXX
                x/api      X.XX
                x/admin    XX.X
                x/db       XXXX
                x/dns      XXXX
                10.0.1.200 XXXX
                8.8.8.8    XXXX
                """);
    }

    @Test
    void toCidrReachesOnlyTheDeclaringPodsInsideItMinusExcept() {
        // web2 shares web1's identity but lies outside the CIDR: web1 is matched by its address, not its identity
        assertThat(table(engine("to-cidr.yaml"))).isEqualTo("""
                x/web1     .XXX
                x/web2     XXXX
                x/api      X.XX
                x/admin    XXXX
                x/db       XXXX
                x/dns      XXXX
                10.0.1.200 XXXX
                8.8.8.8    XXXX
                """);
    }

    @Test
    void toSelectedPodsUsesTheirNumbers() {
        assertThat(table(engine("to-web.yaml"))).isEqualTo("""
                x/web1     .XXX
                x/web2     .XXX
                x/api      XXXX
                x/admin    XXXX
                x/db       XXXX
                x/dns      XXXX
                10.0.1.200 XXXX
                8.8.8.8    XXXX
                """);
    }

    @Test
    void aDenyToANamedPortInACidrDeniesOnlyThePodsPortsThere() {
        assertThat(table(engine("deny-cidr.yaml"))).isEqualTo("""
                x/web1     X...
                x/web2     ....
                x/api      .X..
                x/admin    ..X.
                x/db       ....
                x/dns      ....
                10.0.1.200 ....
                8.8.8.8    ....
                """);
    }

    @Test
    void theOfflineMatrixResolvesTheNamePerDestination() {
        var m = new PolicyAnalysis(engine("to-cidr.yaml")).matrix("http", Protocol.TCP).matrix().get("x/client");
        assertThat(m).containsEntry("x/web1", "allow").containsEntry("x/web2", "deny").containsEntry("x/api", "allow")
                .containsEntry("x/admin", "deny").containsEntry("x/db", "deny").containsEntry("x/dns", "deny");
    }

    @Test
    void aPodMovingIntoTheCidrIsFollowedIncrementally() {
        PolicyEngine e = engine("to-cidr.yaml");
        Pod web2 = e.pod("x/web2");
        e.apply(new Change.PodUpsert(new Pod(web2.namespace(), web2.name(), web2.labels(), web2.nodeName(), "10.0.1.10", web2.ports())));
        assertThat(table(e)).startsWith("""
                x/web1     .XXX
                x/web2     .XXX
                """);
        PolicyEngine fresh = new PolicyEngine(EngineConfig.DEFAULT);
        fresh.load(e.inputs());
        assertThat(PolicyMapText.render(e.result())).isEqualTo(PolicyMapText.render(fresh.result()));
    }
}
