package dev.sluice.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.store.Recorder;
import dev.sluice.agent.store.ResourceStore;
import dev.sluice.k8s.KubeObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestSourceTest {
    final Path dir;
    final ResourceStore store = new ResourceStore();
    final Recorder deltas = new Recorder();
    final LinkedBlockingQueue<Snapshot> sink = new LinkedBlockingQueue<>();
    final ManifestSource source;

    ManifestSourceTest(@TempDir Path dir) throws Exception {
        this.dir = dir;
        source = new ManifestSource(dir, store, sink::add);
        store.subscribe(Set.copyOf(ResourceStore.KINDS), deltas);
    }

    static String pod(String name, String app) {
        return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: x, labels: {app: " + app + "}}\n"
                + "spec: {containers: [{name: c}]}\n---\n";
    }

    /** Writes as the lab does: a new file renamed over the old one. */
    void write(String file, String text) throws Exception {
        Path target = dir.resolve(file);
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test void aChangedFileYieldsOnlyTheDeltasOfItsObjects() throws Exception {
        write("a.yaml", pod("a", "1"));
        write("b.yaml", pod("b", "1") + pod("c", "1"));
        Snapshot first = source.read();
        assertThat(first.objects()).extracting(KubeObject::name).containsExactly("a", "b", "c");
        deltas.clear();
        write("b.yaml", pod("b", "1") + pod("c", "2") + pod("d", "1"));
        source.read();
        assertThat(deltas.lines()).containsExactly("Updated Pod x/c", "Added Pod x/d");
        deltas.clear();
        Files.delete(dir.resolve("b.yaml"));
        Snapshot s = source.read();
        assertThat(deltas.lines()).containsExactly("Deleted Pod x/b", "Deleted Pod x/c", "Deleted Pod x/d");
        assertThat(s.objects()).extracting(KubeObject::name).containsExactly("a");
    }

    @Test void anObjectThatDoesNotReadIsReportedAndBlocksNoOther() throws Exception {
        write("a.yaml", pod("a", "1") + pod("b", "1"));
        source.read();
        deltas.clear();
        write("a.yaml", pod("a", "2") + pod("B", "1") + pod("c", "1"));
        Snapshot s = source.read();
        assertThat(deltas.lines()).containsExactly("Updated Pod x/a", "Deleted Pod x/b", "Added Pod x/c");
        assertThat(s.errors()).containsExactly(dir.resolve("a.yaml") + ": document 2: metadata.name: \"B\""
                + " (expected: lower-case letters, digits, '-' and '.', at most 253)");
        write("a.yaml", pod("a", "2") + pod("c", "1"));
        assertThat(source.read().errors()).isEmpty();
    }

    @Test void anObjectInTwoFilesIsTheOneInTheFileThatSortsLast() throws Exception {
        write("a.yaml", pod("p", "from-a"));
        write("b.yaml", pod("p", "from-b"));
        assertThat(source.read().objects()).singleElement().extracting(o -> o.labels().get("app")).isEqualTo("from-b");
        deltas.clear();
        Files.delete(dir.resolve("b.yaml"));
        source.read();
        assertThat(deltas.lines()).containsExactly("Updated Pod x/p");
        assertThat(store.list("Pod")).singleElement().extracting(o -> o.labels().get("app")).isEqualTo("from-a");
    }

    @Test void theGenerationAloneMakesASnapshotWithoutDeltas() throws Exception {
        write("a.yaml", pod("a", "1"));
        assertThat(source.read().generation()).isZero();
        deltas.clear();
        write(".generation", "7\n");
        Snapshot s = source.read();
        assertThat(s.generation()).isEqualTo(7);
        assertThat(s.objects()).hasSize(1);
        assertThat(deltas.changes).isEmpty();
    }

    @Test void watchingDeliversEveryLaterChangeIncludingOneBeforeStart() throws Exception {
        write("a.yaml", pod("a", "1"));
        source.read();
        write("a.yaml", pod("a", "2")); // after read, before start: must not be lost
        write(".generation", "1\n");
        try (source) {
            source.start();
            Snapshot s = sink.poll(10, TimeUnit.SECONDS);
            assertThat(s).as("snapshot within 10 s").isNotNull();
            assertThat(s.generation()).isEqualTo(1);
            assertThat(s.objects()).singleElement().extracting(o -> o.labels().get("app")).isEqualTo("2");
            Files.createDirectories(dir.resolve("pod/x"));
            write("pod/x/b.yaml", pod("b", "1"));
            write(".generation", "2\n");
            Snapshot next = sink.poll(10, TimeUnit.SECONDS);
            while (next != null && next.generation() < 2) next = sink.poll(10, TimeUnit.SECONDS);
            assertThat(next).as("generation 2 within 10 s").isNotNull();
            assertThat(next.objects()).extracting(KubeObject::name).containsExactly("a", "b");
        }
    }
}
