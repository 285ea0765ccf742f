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
        int l4 = proto == 6 ? 20 : 8;
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + l4 + 16);
        b.put(mac(dstMac)).put(mac(srcMac)).putShort((short) ETH_P_IP);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4 + 16)).putShort((short) 1).putShort((short) fragOff)
                .put((byte) 64).put((byte) proto).putShort((short) 0).putInt(Ip.parse(src)).putInt(Ip.parse(dst));
        b.putShort((short) sport).putShort((short) dport);
        if (proto == 6) b.putInt(1).putInt(0).put((byte) 0x50).put((byte) 0x02).putShort((short) 8192).putInt(0);
        else b.putShort((short) (8 + 16)).putShort((short) 0);
        return b.array();
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
