package dev.sluice.agent.store;

import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.ManifestReader;

/** Small objects for store tests, read through the same reader the sources use. */
final class TestObjects {
    private TestObjects() {}

    static KubeObject pod(String ns, String name, String app) {
        return one("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + ", labels: {app: " + app + "}}\n"
                + "spec: {containers: [{name: c}]}\n");
    }

    static KubeObject namespace(String name) {
        return one("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + "}\n");
    }

    static KubeObject service(String ns, String name, int port) {
        return one("apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns + "}\n"
                + "spec: {ports: [{port: " + port + "}]}\n");
    }

    /** Any kind the store holds, with one label that makes versions differ. */
    static KubeObject of(String kind, String ns, String name, String version) {
        var k = Kinds.ALL.get(kind);
        String apiVersion = k.apiVersions().stream().sorted().findFirst().orElseThrow();
        return one("apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata: {name: " + name
                + (k.namespaced() ? ", namespace: " + ns : "") + ", labels: {v: \"" + version + "\"}}\n");
    }

    static KubeObject one(String yaml) {
        var objects = ManifestReader.parse("test.yaml", yaml);
        if (objects.size() != 1) throw new IllegalStateException("expected one object in: " + yaml);
        return objects.get(0);
    }
}
