package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.api.LabApiServer;
import dev.sluice.net.Cidr;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The lab's API server process; `lab up` starts it in the lab's world namespace. */
@Command(name = "apiserver", hidden = true, mixinStandardHelpOptions = true,
        description = "Serve the Kubernetes API for a lab (started by `sluice lab up`; runs until killed).")
final class LabApiServerCommand implements Callable<Integer> {
    static final long KUBELET_POLL_MS = 500;
    @Option(names = "--listen", required = true, description = "ADDRESS:PORT") String listen;
    @Option(names = "--service-cidr", defaultValue = "10.96.0.0/12", description = "Where ClusterIPs are allocated.") String serviceCidr;
    @Option(names = "--lab", description = "The lab whose pods this process schedules and runs when they come from elsewhere than `lab apply` (kubectl).")
    String lab;

    @Override public Integer call() throws InterruptedException {
        int colon = listen.lastIndexOf(':');
        if (colon <= 0) throw new BadInputException("--listen: " + listen + " (expected: ADDRESS:PORT)");
        InetAddress address;
        int port;
        try {
            address = InetAddress.getByName(listen.substring(0, colon));
            port = Integer.parseInt(listen.substring(colon + 1));
        } catch (UnknownHostException | NumberFormatException e) {
            throw new BadInputException("--listen: " + listen + " (expected: ADDRESS:PORT)");
        }
        var server = new LabApiServer(Cidr.parse(serviceCidr));
        server.start(address, port);
        System.err.println("lab API server on " + listen + ", serviceCIDR " + serviceCidr);
        if (lab == null) {
            new CountDownLatch(1).await();
            return 0;
        }
        // the lab's cluster DNS, in this process that holds the state, its sockets in the DNS pod's namespace
        new dev.sluice.lab.dns.LabDnsHost(server.store(), lab);
        // the lab's kubelet for pods made with kubectl: after any write, once the lab's lock is free
        var l = new Lab(lab, LabEnv.detect(), line -> System.err.println(line));
        long seen = -1;
        while (true) {
            long rv = server.store().resourceVersion();
            if (rv != seen) {
                try {
                    l.reconcilePods().forEach(System.err::println);
                    seen = rv;
                } catch (RuntimeException e) {
                    System.err.println("kubelet: " + e.getMessage());
                }
            }
            Thread.sleep(KUBELET_POLL_MS);
        }
    }
}
