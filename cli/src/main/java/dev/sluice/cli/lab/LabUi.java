package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.lab.LabNames;
import dev.sluice.lab.UiForwarder;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "ui", mixinStandardHelpOptions = true,
        description = "Serve the lab's Hubble UI (hubble.ui.enabled) on 127.0.0.1 of this host until Ctrl-C, and print its address.")
final class LabUi implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Option(names = "--port", defaultValue = "12000", description = "Port on 127.0.0.1 (default: ${DEFAULT-VALUE}, Hubble UI's; 0: any free port).") int port;

    @Override public Integer call() throws Exception {
        if (port < 0 || port > 65535) throw new BadInputException("--port: " + port + " (expected: 0-65535)");
        var target = UiForwarder.target(LabNames.validateLab(lab.name));
        UiForwarder f;
        try {
            f = new UiForwarder(target, port, System.err::println);
        } catch (java.net.BindException e) {
            throw new BadInputException("--port: " + port + " is in use on 127.0.0.1 (expected: a free port, or 0 for any)");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                f.close();
            } catch (java.io.IOException e) {
                // exiting anyway
            }
        }));
        System.out.println("Hubble UI of lab " + lab.name + ": http://127.0.0.1:" + f.port() + "/");
        System.out.println("(forwarded to " + target.address().getAddress().getHostAddress() + ":" + target.address().getPort()
                + " in the lab's world namespace; Ctrl-C to stop)");
        System.out.flush();
        f.serve();
        return 0;
    }
}
