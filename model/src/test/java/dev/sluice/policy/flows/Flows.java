package dev.sluice.policy.flows;

import dev.sluice.k8s.ManifestReader;
import dev.sluice.policy.PolicyInputs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Test flows in Hubble's JSON as the agents print them, and manifests from text. */
final class Flows {
    private Flows() {}

    /** An end: a pod ({@code ns/name} with labels) or an address with a reserved label. */
    record End(String ip, String pod, Map<String, String> labels, String reserved) {
        static End pod(String key, String ip, String... labels) {
            Map<String, String> l = new TreeMap<>();
            for (String kv : labels) l.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            return new End(ip, key, l, "");
        }

        static End world(String ip) { return new End(ip, "", Map.of(), "world"); }

        static End host(String ip) { return new End(ip, "", Map.of(), "host"); }

        static End reserved(String ip, String label) { return new End(ip, "", Map.of(), label); }

        String json() {
            var sb = new StringBuilder("{");
            if (!pod.isEmpty()) {
                String ns = pod.substring(0, pod.indexOf('/'));
                List<String> ls = new ArrayList<>();
                labels.forEach((k, v) -> ls.add("\"k8s:" + k + "=" + v + "\""));
                ls.add("\"k8s:io.kubernetes.pod.namespace=" + ns + "\"");
                sb.append("\"identity\":12345,\"namespace\":\"").append(ns).append("\",\"labels\":[").append(String.join(",", ls))
                        .append("],\"pod_name\":\"").append(pod.substring(pod.indexOf('/') + 1)).append('"');
            } else {
                sb.append("\"identity\":").append(dev.sluice.identity.Reserved.byLabel(reserved).id).append(",\"labels\":[\"reserved:").append(reserved).append("\"]");
            }
            return sb.append('}').toString();
        }
    }

    /**
     * One flow line. {@code dir} is the checked direction (INGRESS: seen at the responder's
     * to-endpoint, EGRESS: at the opener's from-endpoint); a reply swaps the packet's ends.
     */
    static String line(End opener, End responder, String proto, int port, String dir, boolean reply, String verdict, int reasonCode) {
        End src = reply ? responder : opener, dst = reply ? opener : responder;
        int sport = reply ? port : 40000, dport = reply ? 40000 : port;
        boolean atResponder = dir.equals("INGRESS");
        String point = reply ? (atResponder ? "FROM_ENDPOINT" : "TO_ENDPOINT") : (atResponder ? "TO_ENDPOINT" : "FROM_ENDPOINT");
        String reason = reasonCode == 0 ? "" : ",\"drop_reason\":133,\"drop_reason_desc\":\"" + (reasonCode == 141 ? "POLICY_DENY" : reasonCode == 140 || reasonCode == 146 ? "POLICY_DENIED" : "CT_MAP_INSERTION_FAILED") + "\"";
        String l4 = proto.equals("ICMPv4") ? "{\"ICMPv4\":{}}" : "{\"" + proto + "\":{\"source_port\":" + sport + ",\"destination_port\":" + dport + "}}";
        return "{\"flow\":{\"time\":\"2026-12-02T10:00:00Z\",\"verdict\":\"" + verdict + "\"" + reason
                + ",\"IP\":{\"source\":\"" + src.ip() + "\",\"destination\":\"" + dst.ip() + "\",\"ipVersion\":\"IPv4\"},\"l4\":" + l4
                + ",\"source\":" + src.json() + ",\"destination\":" + dst.json() + ",\"Type\":\"L3_L4\",\"node_name\":\"node1\",\"is_reply\":" + reply
                + ",\"traffic_direction\":\"" + dir + "\",\"trace_observation_point\":\"" + point + "\",\"sluice\":{\"reason_code\":" + reasonCode
                + ",\"ct_state\":\"" + (reply ? "reply" : "new") + "\",\"policy_match\":\"none\"}},\"node_name\":\"node1\",\"time\":\"2026-12-02T10:00:00Z\"}";
    }

    static RecordedFlow flow(String where, End opener, End responder, String proto, int port, String dir, boolean reply, String verdict, int reason) {
        return HubbleFlows.parse(line(opener, responder, proto, port, dir, reply, verdict, reason), where);
    }

    static PolicyInputs manifests(String yaml) {
        return PolicyInputs.decodeStrict(ManifestReader.parse("test.yaml", yaml));
    }
}
