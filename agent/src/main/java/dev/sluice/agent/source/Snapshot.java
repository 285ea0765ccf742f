package dev.sluice.agent.source;

import dev.sluice.k8s.KubeObject;
import java.util.List;

/**
 * The cluster state at one generation. {@code errors} lists objects that did not decode: they are
 * left out, and everything else is still programmed (a bad object never blocks the good ones).
 */
public record Snapshot(long generation, List<KubeObject> objects, List<String> errors) {}
