package dev.sluice.bpf;

import java.util.List;
import java.util.Optional;

/**
 * A libbpf or bpf(2) call failed. The message reads
 * {@code "<subject>: <operation>: <strerror> (errno N)[; <detail>][; verifier log: <tail>]"} where the
 * subject names the object file, map or program and the operation names what was attempted.
 *
 * <p>When the kernel verifier rejected a program, {@link #verifierLog()} holds the complete log of that
 * program and the message quotes its last lines (the verifier reports the error at the end).
 */
public class BpfException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final int TAIL_LINES = 25;

    private final int errno;
    private final String subject;
    private final String operation;
    private final String verifierLog;

    public BpfException(String subject, String operation, int errno) {
        this(subject, operation, errno, null, null);
    }

    public BpfException(String subject, String operation, int errno, String detail) {
        this(subject, operation, errno, detail, null);
    }

    public BpfException(String subject, String operation, int errno, String detail, String verifierLog) {
        super(format(subject, operation, errno, detail, verifierLog));
        this.errno = errno;
        this.subject = subject;
        this.operation = operation;
        this.verifierLog = verifierLog == null || verifierLog.isBlank() ? null : verifierLog;
    }

    /** The positive errno of the failed call (0 when the failure was detected by this binding). */
    public int errno() { return errno; }

    /** What failed: an object file, "map 'name'" or "program 'name' (file.o)". */
    public String subject() { return subject; }

    /** The libbpf function or step that failed, e.g. "load", "lookup", "bpf_tc_attach". */
    public String operation() { return operation; }

    /** The full verifier log of the rejected program, when the failure was a program load. */
    public Optional<String> verifierLog() { return Optional.ofNullable(verifierLog); }

    static String format(String subject, String operation, int errno, String detail, String log) {
        StringBuilder b = new StringBuilder().append(subject).append(": ").append(operation).append(": ");
        if (errno != 0) b.append(Libbpf.strerror(errno)).append(" (errno ").append(errno).append(')');
        else b.append("failed");
        if (detail != null && !detail.isBlank()) b.append("; ").append(detail);
        if (log != null && !log.isBlank()) b.append("; verifier log:\n").append(tail(log, TAIL_LINES));
        return b.toString();
    }

    static String tail(String log, int n) {
        List<String> lines = log.strip().lines().toList();
        if (lines.size() <= n) return String.join("\n", lines);
        return "... (" + (lines.size() - n) + " earlier lines omitted)\n"
                + String.join("\n", lines.subList(lines.size() - n, lines.size()));
    }
}
