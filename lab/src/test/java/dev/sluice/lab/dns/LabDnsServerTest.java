package dev.sluice.lab.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Service;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The server's sockets on loopback: UDP with truncation, TCP with several messages on one connection, garbage. */
class LabDnsServerTest {
    static final InetAddress LO = InetAddress.getLoopbackAddress();

    /** A headless Service with 60 pods: its A answer is far over 512 bytes. */
    static ClusterZone bigZone() {
        Service s = Service.decode(ManifestReader.object("t", ClusterZoneTest.YAML.readTree(
                "{apiVersion: v1, kind: Service, metadata: {name: many, namespace: x}, spec: {clusterIP: None, selector: {app: many}}}")));
        List<ClusterZone.PodEntry> pods = new ArrayList<>();
        for (int i = 1; i <= 60; i++) pods.add(ClusterZoneTest.pod("x", "p" + i, "many", "10.0.2." + i, "", ""));
        return new ClusterZone(List.of(s), pods, List.of());
    }

    static Message udp(LabDnsServer s, byte[] q) throws Exception {
        try (DatagramSocket c = new DatagramSocket(new InetSocketAddress(LO, 0))) {
            c.setSoTimeout(2000);
            c.send(new DatagramPacket(q, q.length, LO, s.udpPort()));
            byte[] buf = new byte[65535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            c.receive(p);
            assertThat(p.getLength()).isLessThanOrEqualTo(512);
            return new Message(Arrays.copyOf(buf, p.getLength()));
        }
    }

    @Test void udpTruncatesALongAnswerAndTcpCarriesIt() throws Exception {
        ClusterZone z = bigZone();
        try (LabDnsServer s = LabDnsServer.bind(() -> z, new InetSocketAddress(LO, 0))) {
            Message q = Message.newQuery(Record.newRecord(Name.fromString("many.x.svc.cluster.local."), Type.A, DClass.IN));
            Message u = udp(s, q.toWire());
            assertThat(u.getHeader().getFlag(Flags.TC)).isTrue();
            try (Socket t = new Socket(LO, s.tcpPort())) {
                t.setSoTimeout(2000);
                var out = new DataOutputStream(t.getOutputStream());
                var in = new DataInputStream(t.getInputStream());
                for (int i = 0; i < 3; i++) { // several messages on one connection
                    byte[] w = q.toWire();
                    out.writeShort(w.length);
                    out.write(w);
                    out.flush();
                    byte[] a = new byte[in.readUnsignedShort()];
                    in.readFully(a);
                    Message m = new Message(a);
                    assertThat(m.getHeader().getFlag(Flags.TC)).isFalse();
                    assertThat(m.getSection(Section.ANSWER)).hasSize(60);
                }
            }
        }
    }

    @Test void garbageGetsFormerrAndTheServerGoesOn() throws Exception {
        ClusterZone z = ClusterZoneTest.zone();
        try (LabDnsServer s = LabDnsServer.bind(() -> z, new InetSocketAddress(LO, 0))) {
            byte[] junk = {0x0a, 0x0b, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 60, 1, 2};
            Message r = udp(s, junk);
            assertThat(r.getRcode()).isEqualTo(Rcode.FORMERR);
            assertThat(r.getHeader().getID()).isEqualTo(0x0a0b);
            assertThat(s.malformed()).isEqualTo(1);
            Message q = Message.newQuery(Record.newRecord(Name.fromString("web.x.svc.cluster.local."), Type.A, DClass.IN));
            assertThat(udp(s, q.toWire()).getRcode()).isEqualTo(Rcode.NOERROR);
        }
    }
}
