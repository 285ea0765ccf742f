package dev.sluice.cli.bench;

/**
 * One way a client's packets reach a Service's endpoint, measured side by side: the Service
 * rules programmed from nothing ({@link #fullSync}), one Service added ({@link #oneChange}), and
 * the address a client connects to. {@link #close} removes everything it made.
 */
interface DataPath extends AutoCloseable {
    /** The path's name in the table, JSON and chart. */
    String name();

    /** Whether it programs Services at all (the routed baseline does not: no sync to time). */
    default boolean programs() { return true; }

    /** Removes every Service rule (not timed), then programs {@code n} Services; returns the milliseconds taken. */
    double fullSync(int n);

    /** Adds one Service beside the {@code n} there; returns the milliseconds until it is in the kernel. */
    double oneChange(int n);

    /** The network namespace the client runs in. */
    String clientNetns();

    /** {@code ip:port} the client connects to with {@code n} Services programmed (the last of them). */
    String target(int n);

    @Override void close();
}
