package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.ConsoleAppender;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class LogSetupTest {
    @Test void levelsFromTheEnvironmentAndInfoOtherwise() {
        assertThat(LogSetup.level(null)).isEqualTo(Level.INFO);
        assertThat(LogSetup.level(" ")).isEqualTo(Level.INFO);
        assertThat(LogSetup.level("debug")).isEqualTo(Level.DEBUG);
        assertThat(LogSetup.level("WARN")).isEqualTo(Level.WARN);
        assertThat(LogSetup.level("loud")).isEqualTo(Level.INFO);
    }

    @Test void oneLinePerEventOnStderrAndNettysKeepaliveWarningsQuiet() {
        var ctx = new LoggerContext();
        var setup = new LogSetup();
        setup.setContext(ctx);
        assertThat(setup.configure(ctx)).isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        var err = (ConsoleAppender<?>) ctx.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("ERR");
        assertThat(err.getTarget()).isEqualTo("System.err");
        assertThat(err.isStarted()).isTrue();
        assertThat(((PatternLayoutEncoder) err.getEncoder()).getPattern()).isEqualTo("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n");
        assertThat(ctx.getLogger("io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap").getLevel()).isEqualTo(Level.ERROR);
        assertThat(ctx.getLogger("io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap").getLevel()).isEqualTo(Level.ERROR);
    }

    @Test void aConfigurationFileNamedOnTheCommandLineWins() {
        var ctx = new LoggerContext();
        System.setProperty("logback.configurationFile", "/nonexistent/logback.xml");
        try {
            assertThat(new LogSetup().configure(ctx)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
            assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).isFalse();
        } finally {
            System.clearProperty("logback.configurationFile");
        }
    }

    @Test void logbackFindsIt() {
        assertThat(ServiceLoader.load(Configurator.class).stream().<Class<?>>map(ServiceLoader.Provider::type)).contains(LogSetup.class);
    }
}
