package dev.sluice.lb;

import dev.sluice.k8s.Protocol;
import dev.sluice.net.Ip;

/**
 * One backend of a frontend, as the backend map holds it.
 *
 * @param id     stable id (see {@link BackendIds}): unchanged while the (ip, port, protocol) stays in use
 * @param node   the node the pod runs on (spec.nodeName)
 * @param pod    {@code namespace/name} of the pod, for humans
 * @param weight 1 for now (weights are supported by the Maglev builder, not yet by any input)
 */
public record Backend(int id, int ip, int port, Protocol protocol, String node, String pod, int weight, State state) {
    /** Only ready pods become backends, so every backend is active; terminating ones come later. */
    public enum State { ACTIVE }

    public BackendKey key() { return new BackendKey(ip, port, protocol); }
    public String address() { return Ip.format(ip) + ":" + port; }
}
