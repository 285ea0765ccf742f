package dev.sluice.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestReaderTest {
    static final String PODS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: production, labels: {env: prod}}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: backend
              namespace: production
              labels: {app: backend}
            spec:
              containers:
              - name: app
                image: whatever
                ports:
                - {name: http, containerPort: 8080}
                - {containerPort: 53, protocol: UDP}
            ---
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Pod
              metadata: {name: frontend, namespace: production, labels: {app: frontend}}
              spec: {nodeName: node2, containers: [{name: c}]}
              status: {podIP: 10.0.1.5}
            """;

    @Test
    void readsMultiDocumentYamlAndLists() {
        List<KubeObject> objs = ManifestReader.parse("pods.yaml", PODS);
        assertThat(objs).extracting(KubeObject::displayName)
                .containsExactly("Namespace production", "Pod production/backend", "Pod production/frontend");
        Namespace ns = Namespace.decode(objs.get(0));
        assertThat(ns.labels()).containsEntry("env", "prod").containsEntry("kubernetes.io/metadata.name", "production");
        Pod backend = Pod.decode(objs.get(1));
        assertThat(backend.ports()).containsExactly(new ContainerPort("http", 8080, Protocol.TCP), new ContainerPort("", 53, Protocol.UDP));
        assertThat(backend.namedPort("http", Protocol.TCP)).map(ContainerPort::port).contains(8080);
        Pod frontend = Pod.decode(objs.get(2));
        assertThat(frontend.nodeName()).isEqualTo("node2");
        assertThat(frontend.podIP()).isEqualTo("10.0.1.5");
    }

    @Test
    void errorsNameFileObjectFieldAndExpectation() {
        assertThatThrownBy(() -> Pod.decode(ManifestReader.parse("p.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: a, namespace: x}
                spec: {containers: [{name: c, ports: [{containerPort: 70000}]}]}
                """).get(0))).isInstanceOf(ManifestException.class)
                .hasMessage("p.yaml: Pod x/a: spec.containers[0].ports[0].containerPort: 70000 (expected: 1-65535)");
        assertThatThrownBy(() -> ManifestReader.parse("p.yaml", "apiVersion: v1\nkind: Pood\nmetadata: {name: a}\n"))
                .hasMessageStartingWith("p.yaml: document 1: kind: Pood (expected one of: CiliumClusterwideNetworkPolicy,");
        assertThatThrownBy(() -> ManifestReader.parse("p.yaml", "apiVersion: v2\nkind: Pod\nmetadata: {name: a}\n"))
                .hasMessage("p.yaml: document 1: apiVersion: v2 (expected for Pod: v1)");
        assertThatThrownBy(() -> Pod.decode(ManifestReader.parse("p.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: a}
                spec: {containers: [{name: c}], hostNetwrk: true}
                """).get(0))).hasMessageStartingWith("p.yaml: Pod default/a: spec.hostNetwrk: unknown field (expected one of:");
        assertThatThrownBy(() -> ManifestReader.parse("p.yaml", "kind: Pod\n  bad: [\n")).hasMessageStartingWith("p.yaml: ")
                .hasMessageContaining("not valid YAML");
        assertThatThrownBy(() -> ManifestReader.parse("p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\n"))
                .hasMessageContaining("metadata.name: \"Bad_Name\" (expected: lower-case letters");
    }

    @Test
    void nodesCarryPodCidrsAndInternalIp() {
        var n = new ClusterNode("node1", java.util.Map.of(), "172.30.0.11", List.of(dev.sluice.net.Cidr.parse("10.0.0.0/24")));
        ClusterNode back = ClusterNode.decode(ManifestReader.parse("n.yaml", n.toYaml()).get(0));
        assertThat(back).isEqualTo(n);
    }

    @Test
    void parseEachKeepsTheObjectsThatReadAndReportsEachThatDoesNot() {
        var p = ManifestReader.parseEach("m.yaml", """
                apiVersion: v1
                kind: Namespace
                metadata: {name: a}
                ---
                apiVersion: v2
                kind: Namespace
                metadata: {name: b}
                ---
                apiVersion: v1
                kind: List
                items:
                - {apiVersion: v1, kind: Namespace, metadata: {name: C}}
                - {apiVersion: v1, kind: Namespace, metadata: {name: d}}
                ---
                kind: [
                """);
        assertThat(p.objects()).extracting(KubeObject::name).containsExactly("a", "d");
        assertThat(p.errors()).extracting(ManifestException::getMessage).containsExactly(
                "m.yaml: document 2: apiVersion: v2 (expected for Namespace: v1)",
                "m.yaml: document 3: items[0].metadata.name: \"C\" (expected: lower-case letters, digits, '-' and '.', at most 253)",
                p.errors().get(2).getMessage());
        assertThat(p.errors().get(2).getMessage()).startsWith("m.yaml: line ").contains("not valid YAML");
    }
}
