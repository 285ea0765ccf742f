package dev.sluice.datapath;

import dev.sluice.net.Ip;
import java.nio.ByteBuffer;

/** Crafted Ethernet frames for BPF_PROG_TEST_RUN. */
final class Packets {
    static final int ETH_P_IP = 0x0800, ETH_P_ARP = 0x0806, ETH_P_IPV6 = 0x86dd;

    private Packets() {}

    static byte[] mac(String s) {
        String[] p = s.split(":");
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte) Integer.parseInt(p[i], 16);
        return b;
    }

    /** An IPv4 packet with a TCP or UDP header (ports) and a small payload. */
    static byte[] ipv4(String srcMac, String dstMac, String src, String dst, int proto, int sport, int dport, int fragOff) {
        return ipv4(srcMac, dstMac, src, dst, proto, sport, dport, fragOff, 1);
    }

    /** As above with the IP identification, which ties fragments of one datagram together. */
    static byte[] ipv4(String srcMac, String dstMac, String src, String dst, int proto, int sport, int dport, int fragOff, int ipId) {
        int l4 = proto == 6 ? 20 : 8;
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + l4 + 16);
        b.put(mac(dstMac)).put(mac(srcMac)).putShort((short) ETH_P_IP);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4 + 16)).putShort((short) ipId).putShort((short) fragOff)
                .put((byte) 64).put((byte) proto).putShort((short) 0).putInt(Ip.parse(src)).putInt(Ip.parse(dst));
        b.putShort((short) sport).putShort((short) dport);
        if (proto == 6) b.putInt(1).putInt(0).put((byte) 0x50).put((byte) 0x02).putShort((short) 8192).putInt(0);
        else b.putShort((short) (8 + 16)).putShort((short) 0);
        return b.array();
    }

    /** IPv4 with any L4 bytes: fragment offset in 8-byte units, MF flag, IP id, and the total length
     * the header claims (-1: the honest one). Valid IPv4 header checksum. */
    static byte[] raw(String srcMac, String dstMac, String src, String dst, int proto, byte[] l4, int ipId, int fragOff, boolean mf,
                      int totLen) {
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + l4.length);
        b.put(mac(dstMac)).put(mac(srcMac)).putShort((short) ETH_P_IP);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (totLen < 0 ? 20 + l4.length : totLen)).putShort((short) ipId)
                .putShort((short) ((mf ? 0x2000 : 0) | fragOff)).put((byte) 64).put((byte) proto).putShort((short) 0)
                .putInt(Ip.parse(src)).putInt(Ip.parse(dst)).put(l4);
        byte[] a = b.array();
        int c = csum(a, 14, 34);
        a[24] = (byte) (c >> 8);
        a[25] = (byte) c;
        return a;
    }

    /** An ICMP message (checksum computed) of type/code with the 4 bytes after the checksum and a body. */
    static byte[] icmp(int type, int code, int rest, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(8 + body.length).put((byte) type).put((byte) code).putShort((short) 0).putInt(rest).put(body);
        byte[] a = b.array();
        int c = csum(a, 0, a.length);
        a[2] = (byte) (c >> 8);
        a[3] = (byte) c;
        return a;
    }

    /** What an ICMP error quotes: the offending packet's IPv4 header and its first 8 payload bytes (ports). */
    static byte[] quote(String src, String dst, int proto, int sport, int dport) {
        return ByteBuffer.allocate(28).put((byte) 0x45).put((byte) 0).putShort((short) 48).putInt(0).put((byte) 64).put((byte) proto)
                .putShort((short) 0).putInt(Ip.parse(src)).putInt(Ip.parse(dst)).putShort((short) sport).putShort((short) dport)
                .putInt(0).array();
    }

    /** An SCTP common header (CRC left 0: nothing on the path checks it) and one DATA-like chunk. */
    static byte[] sctp(int sport, int dport) {
        return ByteBuffer.allocate(12 + 16).putShort((short) sport).putShort((short) dport).putInt(1).putInt(0)
                .put((byte) 0).put((byte) 3).putShort((short) 16).putInt(1).putInt(0).putInt(0).array();
    }

    /** A UDP header and payload (checksum 0: none). */
    static byte[] udp(int sport, int dport, byte[] payload) {
        return ByteBuffer.allocate(8 + payload.length).putShort((short) sport).putShort((short) dport)
                .putShort((short) (8 + payload.length)).putShort((short) 0).put(payload).array();
    }

    /** A TCP header of the given flags. */
    static byte[] tcp(int sport, int dport, int flags) {
        return ByteBuffer.allocate(20).putShort((short) sport).putShort((short) dport).putInt(1).putInt(0).put((byte) 0x50)
                .put((byte) flags).putShort((short) 8192).putInt(0).array();
    }

    static int csum(byte[] a, int from, int to) {
        long s = 0;
        for (int i = from; i < to; i += 2) s += ((a[i] & 0xff) << 8) | (i + 1 < to ? a[i + 1] & 0xff : 0);
        while ((s >> 16) != 0) s = (s & 0xffff) + (s >> 16);
        return (int) (~s & 0xffff);
    }

    /**
     * An Ethernet frame carrying an ARP packet: hardware type {@code htype}, protocol type
     * {@code ptype}, their lengths, operation {@code op}, sender and target (hardware, protocol)
     * addresses. {@code pad}: bytes of zero padding after the ARP packet (60-byte minimum frames).
     */
    static byte[] arp(String ethDst, String ethSrc, int htype, int ptype, int hlen, int plen, int op, String sha, String spa,
                      String tha, String tpa, int pad) {
        ByteBuffer b = ByteBuffer.allocate(14 + 28 + pad);
        b.put(mac(ethDst)).put(mac(ethSrc)).putShort((short) ETH_P_ARP);
        b.putShort((short) htype).putShort((short) ptype).put((byte) hlen).put((byte) plen).putShort((short) op)
                .put(mac(sha)).putInt(Ip.parse(spa)).put(mac(tha)).putInt(Ip.parse(tpa));
        return b.array();
    }

    /** A well-formed Ethernet/IPv4 ARP request, broadcast, from (mac, ip) for {@code target}. */
    static byte[] arpRequest(String mac, String ip, String target) {
        return arp("ff:ff:ff:ff:ff:ff", mac, 1, ETH_P_IP, 6, 4, 1, mac, ip, "00:00:00:00:00:00", target, 0);
    }

    static byte[] ethernet(int ethType, int payloadLen) {
        ByteBuffer b = ByteBuffer.allocate(14 + payloadLen);
        b.put(mac("ff:ff:ff:ff:ff:ff")).put(mac("02:00:00:00:00:01")).putShort((short) ethType);
        return b.array();
    }

    static String dstMac(byte[] frame) { return fmt(frame, 0); }
    static String srcMac(byte[] frame) { return fmt(frame, 6); }

    private static String fmt(byte[] f, int off) {
        var sb = new StringBuilder();
        for (int i = 0; i < 6; i++) sb.append(i == 0 ? "" : ":").append(String.format("%02x", f[off + i] & 0xff));
        return sb.toString();
    }
}
