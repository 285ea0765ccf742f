package dev.sluice.k8s;

/** A declared container port; {@code name} is "" when unnamed. */
public record ContainerPort(String name, int port, Protocol protocol) {}
