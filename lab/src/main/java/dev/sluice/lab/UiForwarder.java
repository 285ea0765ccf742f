package dev.sluice.lab;

import dev.sluice.BadInputException;
import dev.sluice.bpf.Netns;
import dev.sluice.config.Values;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code sluice lab ui}: the lab's Hubble UI (served by the relay on the world's address,
 * hubble.ui.enabled) reachable from the host. It listens on 127.0.0.1 in the caller's namespace and,
 * for each connection, opens one to the UI from inside the world namespace and copies bytes both
 * ways; the host gains no route or address into the lab.
 */
public final class UiForwarder implements AutoCloseable {
    private final ServerSocket listener;
    private final Path netns;
    private final InetSocketAddress upstream;
    private final Consumer<String> log;

    /** Where a lab's UI is: its world namespace and address. Fails with one line when the lab is not up or has no UI. */
    public record Target(Path netns, InetSocketAddress address) {}

    public static Target target(String lab) { return target(LabDir.of(lab)); }

    static Target target(LabDir dir) {
        String lab = dir.lab();
        LabState state = LabState.load(dir.labJson())
                .orElseThrow(() -> new BadInputException("lab " + lab + ": not up (expected: sluice lab up --name " + lab + " first)"));
        if (state.world() == null || !Files.exists(dir.values()))
            throw new BadInputException("lab " + lab + ": no world namespace (expected: a lab made by sluice lab up)");
        Values v = Values.load(dir.values(), Map.of());
        if (!v.hubbleUiEnabled() || !v.hubbleRelayEnabled() || !v.hubbleEnabled())
            throw new BadInputException("lab " + lab + ": Hubble UI is not enabled (expected: hubble.relay.enabled: true and hubble.ui.enabled: true in the values of sluice lab up)");
        return new Target(Path.of(LabNet.netnsPath(state.world().netns())), new InetSocketAddress(LabNames.WORLD_IP, v.hubbleUiPort()));
    }

    /** Listens on 127.0.0.1:{@code port} (0: any) for connections to forward to {@code target}; a connection the UI refuses is logged. */
    public UiForwarder(Target target, int port, Consumer<String> log) throws IOException {
        this.log = log;
        this.netns = target.netns();
        this.upstream = target.address();
        this.listener = new ServerSocket(port, 64, InetAddress.getLoopbackAddress());
    }

    public int port() { return listener.getLocalPort(); }

    /** Accepts and forwards until closed. */
    public void serve() {
        while (!listener.isClosed()) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            Thread.ofVirtual().name("ui-forward").start(() -> forward(client));
        }
    }

    private void forward(Socket client) {
        SocketChannel opened;
        try {
            opened = Netns.inNetns(netns, () -> SocketChannel.open(upstream));
        } catch (RuntimeException e) {
            log.accept("sluice: lab ui: cannot reach Hubble UI at " + upstream.getAddress().getHostAddress() + ":" + upstream.getPort()
                    + " in the lab's world namespace: " + e.getMessage());
            try {
                client.close();
            } catch (IOException x) {
                // gone already
            }
            return;
        }
        try (client; SocketChannel up = opened) {
            Socket upSocket = up.socket();
            Thread back = Thread.ofVirtual().start(() -> copy(Channels.newInputStream(up), client, () -> shutdownOutput(client)));
            copy(client.getInputStream(), upSocket, () -> shutdownOutput(upSocket));
            back.join();
        } catch (Exception e) {
            // the browser or the UI went; the other side is closed with this connection
        }
    }

    private static void copy(java.io.InputStream in, Socket to, Runnable eof) {
        try {
            in.transferTo(to.getOutputStream());
        } catch (IOException e) {
            // either side closed
        }
        eof.run();
    }

    private static void shutdownOutput(Socket s) {
        try {
            s.shutdownOutput();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override public void close() throws IOException { listener.close(); }
}
