package dev.sluice.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;

/**
 * Sluice's logging: one line per event on stderr ({@code HH:mm:ss.SSS LEVEL [thread] logger - msg}),
 * at {@code SLUICE_LOG_LEVEL} (default INFO). Configured in code rather than by a logback.xml: the
 * XML parser and logback's Joran classes were about 2 MiB of every agent's memory. A file named by
 * {@code -Dlogback.configurationFile} still wins.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n";

    @Override public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        var encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        var err = new ConsoleAppender<ILoggingEvent>();
        err.setContext(context);
        err.setName("ERR");
        err.setTarget("System.err");
        err.setEncoder(encoder);
        err.start();
        var root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(level(System.getenv("SLUICE_LOG_LEVEL")));
        root.addAppender(err);
        // gRPC's Netty sets SO_KEEPALIVE on every channel it opens or accepts; on a Unix socket Netty
        // warns that it has no such option
        context.getLogger("io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap").setLevel(Level.ERROR);
        context.getLogger("io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap").setLevel(Level.ERROR);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** SLUICE_LOG_LEVEL's value (TRACE, DEBUG, INFO, WARN, ERROR, OFF; any case); INFO when unset or unknown. */
    static Level level(String s) {
        return s == null || s.isBlank() ? Level.INFO : Level.toLevel(s.strip(), Level.INFO);
    }
}
