package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.ManifestReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestStoreTest {
    @Test void oneFilePerObjectAndAGenerationCounter(@TempDir Path dir) throws Exception {
        var store = new ManifestStore(dir.resolve("manifests"));
        assertThat(store.generation()).isZero();
        var objs = ManifestReader.parse("m.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: a, labels: {app: a}}
                spec: {containers: [{name: c}]}
                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: x}
                ---
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: deny, namespace: x}
                spec: {podSelector: {}}
                """);
        objs.forEach(o -> store.put(o.body().json()));
        assertThat(store.files()).extracting(p -> dir.resolve("manifests").relativize(p).toString())
                .containsExactlyInAnyOrder("pod/default/a.yaml", "namespace/_cluster/x.yaml", "networkpolicy/x/deny.yaml");
        assertThat(store.get(Kinds.POD, "default", "a").orElseThrow().labels()).containsEntry("app", "a");
        assertThat(store.get(Kinds.POD, "default", "a").orElseThrow().body().get("metadata").string("namespace")).isEqualTo("default");
        assertThat(store.all(Kinds.NETWORK_POLICY)).hasSize(1);
        assertThat(store.bump()).isEqualTo(1);
        assertThat(store.bump()).isEqualTo(2);
        assertThat(Files.readString(store.generationFile())).isEqualTo("2\n");
        store.remove(Kinds.POD, "default", "a");
        assertThat(store.get(Kinds.POD, "default", "a")).isEmpty();
        assertThat(store.all()).hasSize(2);
    }
}
