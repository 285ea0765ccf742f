package dev.sluice.identity;

/**
 * Reserved security identities, numbered as Cilium numbers them so Hubble flows and map dumps read
 * the same. Policy entities (fromEntities/toEntities) name these.
 */
public enum Reserved {
    HOST(1, "host"),
    WORLD(2, "world"),
    UNMANAGED(3, "unmanaged"),
    HEALTH(4, "health"),
    INIT(5, "init"),
    REMOTE_NODE(6, "remote-node"),
    KUBE_APISERVER(7, "kube-apiserver"),
    INGRESS(8, "ingress");

    /** Identity 0 in a policy map key means "any peer". */
    public static final int ANY = 0;

    public final int id;
    public final String label;

    Reserved(int id, String label) {
        this.id = id;
        this.label = label;
    }

    public static Reserved byId(int id) {
        for (Reserved r : values()) if (r.id == id) return r;
        return null;
    }

    public static Reserved byLabel(String label) {
        for (Reserved r : values()) if (r.label.equals(label)) return r;
        return null;
    }

    public Identity identity() {
        return new Identity(id, IdentityLabels.reserved(label));
    }
}
