package dev.sluice.lab.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;
import tools.jackson.dataformat.yaml.YAMLMapper;

class ClusterZoneTest {
    static final YAMLMapper YAML = YAMLMapper.builder().build();

    static Service svc(String yaml) { return Service.decode(ManifestReader.object("test", YAML.readTree(yaml))); }

    static ClusterZone.PodEntry pod(String ns, String name, String app, String ip, String hostname, String subdomain) {
        Pod p = Pod.decode(ManifestReader.object("test", YAML.readTree("""
                {apiVersion: v1, kind: Pod, metadata: {name: %s, namespace: %s, labels: {app: %s}},
                 spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}, status: {podIP: "%s"}}
                """.formatted(name, ns, app, ip))));
        return new ClusterZone.PodEntry(p, hostname, subdomain);
    }

    static ClusterZone zone() {
        List<Service> services = List.of(
                svc("{apiVersion: v1, kind: Service, metadata: {name: web, namespace: x}, spec: {clusterIP: 10.96.0.20, selector: {app: web},"
                        + " ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, protocol: UDP}]}}"),
                svc("{apiVersion: v1, kind: Service, metadata: {name: db, namespace: x}, spec: {clusterIP: None, selector: {app: db},"
                        + " ports: [{name: pg, port: 5432}]}}"),
                svc("{apiVersion: v1, kind: Service, metadata: {name: empty, namespace: y}, spec: {clusterIP: None, selector: {app: none}}}"));
        List<ClusterZone.PodEntry> pods = new ArrayList<>(List.of(
                pod("x", "web-1", "web", "10.0.0.5", "", ""),
                pod("x", "db-0", "db", "10.0.1.7", "db-0", "db"),
                pod("x", "db-1", "db", "10.0.0.9", "", ""),
                pod("x", "pending", "db", "", "", "")));
        return new ClusterZone(services, pods, List.of(new ClusterZone.External("api.example.com", "172.30.0.200", 120)));
    }

    static Message ask(ClusterZone z, String name, int type) throws IOException {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        Message a = z.answer(q);
        assertThat(a.getHeader().getID()).isEqualTo(q.getHeader().getID());
        assertThat(a.getHeader().getFlag(Flags.QR)).isTrue();
        return new Message(a.toWire()); // what a client reads
    }

    static List<String> addresses(Message m) {
        return m.getSection(Section.ANSWER).stream().filter(r -> r instanceof ARecord).map(r -> ((ARecord) r).getAddress().getHostAddress()).toList();
    }

    @Test void aServiceAnswersItsClusterIpWithTtl30() throws IOException {
        Message m = ask(zone(), "web.x.svc.cluster.local.", Type.A);
        assertThat(m.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(m.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(addresses(m)).containsExactly("10.96.0.20");
        assertThat(m.getSection(Section.ANSWER).getFirst().getTTL()).isEqualTo(30);
        // names are case-insensitive
        assertThat(addresses(ask(zone(), "WEB.X.svc.Cluster.Local.", Type.A))).containsExactly("10.96.0.20");
    }

    @Test void aHeadlessServiceAnswersItsReadyPodsAndTheirHostnames() throws IOException {
        assertThat(addresses(ask(zone(), "db.x.svc.cluster.local.", Type.A))).containsExactly("10.0.0.9", "10.0.1.7");
        assertThat(addresses(ask(zone(), "db-0.db.x.svc.cluster.local.", Type.A))).containsExactly("10.0.1.7");
        // a pod without spec.hostname is named by its dashed address under the Service
        assertThat(addresses(ask(zone(), "10-0-0-9.db.x.svc.cluster.local.", Type.A))).containsExactly("10.0.0.9");
        // a headless Service with no pods: the name exists, no address
        Message empty = ask(zone(), "empty.y.svc.cluster.local.", Type.A);
        assertThat(empty.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(empty.getSection(Section.ANSWER)).isEmpty();
    }

    @Test void srvOfNamedPorts() throws IOException {
        Message m = ask(zone(), "_http._tcp.web.x.svc.cluster.local.", Type.SRV);
        assertThat(m.getSection(Section.ANSWER)).hasSize(1);
        SRVRecord s = (SRVRecord) m.getSection(Section.ANSWER).getFirst();
        assertThat(s.getPort()).isEqualTo(80);
        assertThat(s.getTarget().toString()).isEqualTo("web.x.svc.cluster.local.");
        assertThat(addresses(new Message(m.toWire())).isEmpty()).isTrue(); // answers are SRV
        assertThat(m.getSection(Section.ADDITIONAL).stream().anyMatch(r -> r instanceof ARecord)).isTrue();
        assertThat(ask(zone(), "_dns._udp.web.x.svc.cluster.local.", Type.SRV).getSection(Section.ANSWER)).hasSize(1);
        assertThat(ask(zone(), "_http._udp.web.x.svc.cluster.local.", Type.SRV).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        Message headless = ask(zone(), "_pg._tcp.db.x.svc.cluster.local.", Type.SRV);
        assertThat(headless.getSection(Section.ANSWER)).extracting(r -> ((SRVRecord) r).getTarget().toString())
                .containsExactlyInAnyOrder("db-0.db.x.svc.cluster.local.", "10-0-0-9.db.x.svc.cluster.local.");
    }

    @Test void podRecordsOnlyForPodsThatExist() throws IOException {
        assertThat(addresses(ask(zone(), "10-0-0-5.x.pod.cluster.local.", Type.A))).containsExactly("10.0.0.5");
        assertThat(ask(zone(), "10-0-0-6.x.pod.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(ask(zone(), "10-0-0-5.y.pod.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    }

    @Test void unknownNamesAreNxdomainWithTheSoaAndOtherTypesNodata() throws IOException {
        Message nx = ask(zone(), "nope.x.svc.cluster.local.", Type.A);
        assertThat(nx.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(nx.getSection(Section.AUTHORITY)).hasSize(1);
        assertThat(nx.getSection(Section.AUTHORITY).getFirst().getType()).isEqualTo(Type.SOA);
        // the search list's tries (ndots) end in NXDOMAIN: web.x.x.svc.cluster.local is no name
        assertThat(ask(zone(), "web.x.x.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        Message aaaa = ask(zone(), "web.x.svc.cluster.local.", Type.AAAA);
        assertThat(aaaa.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(aaaa.getSection(Section.ANSWER)).isEmpty();
        assertThat(ask(zone(), "x.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NOERROR);
        // outside the zone: not ours, no route out
        Message out = ask(zone(), "www.example.org.", Type.A);
        assertThat(out.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(out.getHeader().getFlag(Flags.AA)).isFalse();
    }

    @Test void externalNamesWithTheirOwnTtl() throws IOException {
        Message m = ask(zone(), "API.example.com.", Type.A);
        assertThat(addresses(m)).containsExactly("172.30.0.200");
        assertThat(m.getSection(Section.ANSWER).getFirst().getTTL()).isEqualTo(120);
    }

    @Test void badMessagesGetFormerrNotimpOrRefused() throws IOException {
        ClusterZone z = zone();
        Message two = Message.newQuery(Record.newRecord(Name.fromString("web.x.svc.cluster.local."), Type.A, DClass.IN));
        two.addRecord(Record.newRecord(Name.fromString("db.x.svc.cluster.local."), Type.A, DClass.IN), Section.QUESTION);
        assertThat(z.answer(two).getRcode()).isEqualTo(Rcode.FORMERR);
        Message resp = Message.newQuery(Record.newRecord(Name.fromString("web.x.svc.cluster.local."), Type.A, DClass.IN));
        resp.getHeader().setFlag(Flags.QR);
        assertThat(z.answer(resp).getRcode()).isEqualTo(Rcode.FORMERR);
        Message upd = Message.newQuery(Record.newRecord(Name.fromString("cluster.local."), Type.SOA, DClass.IN));
        upd.getHeader().setOpcode(org.xbill.DNS.Opcode.UPDATE);
        assertThat(z.answer(upd).getRcode()).isEqualTo(Rcode.NOTIMP);
        Message chaos = Message.newQuery(Record.newRecord(Name.fromString("version.bind."), Type.TXT, DClass.CH));
        assertThat(z.answer(chaos).getRcode()).isEqualTo(Rcode.REFUSED);
    }
}
