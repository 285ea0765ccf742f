package dev.sluice.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

/** A base for tests of {@code sluice} commands through {@link Main#run}: each run's stdout and stderr. */
public abstract class CliTest {
    /** What the last {@link #run} printed. */
    protected String out, err;

    /** Runs {@code sluice args...}, capturing stdout and stderr; returns the exit code. */
    protected int run(String... args) {
        PrintStream o = System.out, e = System.err;
        var bo = new ByteArrayOutputStream();
        var be = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bo, true));
        System.setErr(new PrintStream(be, true));
        try {
            return Main.run(args);
        } finally {
            System.setOut(o);
            System.setErr(e);
            out = bo.toString();
            err = be.toString();
        }
    }
}
