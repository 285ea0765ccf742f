package dev.sluice.bpf;

/** Input and result of BPF_PROG_TEST_RUN ({@link BpfProgram#testRun}). */
public final class TestRun {
    private TestRun() {}

    /** Extra output room by default: programs may grow the packet (encapsulation, headers). */
    public static final int DEFAULT_HEADROOM = 512;

    /**
     * @param data        the packet (for tc: an Ethernet frame, at least 14 bytes)
     * @param repeat      runs (0 or 1: once); the result's duration is the mean per run
     * @param ctxIn       a {@code struct __sk_buff} prefix to start from, or null
     * @param dataSizeOut room for the output packet; 0 to not read it back
     */
    public record Input(byte[] data, int repeat, byte[] ctxIn, int dataSizeOut) {
        public Input {
            if (data == null) throw new IllegalArgumentException("data: null (expected: a packet)");
            if (repeat < 0) throw new IllegalArgumentException("repeat: " + repeat + " (expected: >= 0)");
            if (dataSizeOut < 0) throw new IllegalArgumentException("dataSizeOut: " + dataSizeOut + " (expected: >= 0)");
        }

        /** Run once, no context, output room = data length + {@link #DEFAULT_HEADROOM}. */
        public static Input of(byte[] data) { return new Input(data, 1, null, data.length + DEFAULT_HEADROOM); }

        public Input withRepeat(int n) { return new Input(data, n, ctxIn, dataSizeOut); }

        public Input withCtx(byte[] ctx) { return new Input(data, repeat, ctx, dataSizeOut); }
    }

    /**
     * @param retval     the program's return value (for tc: TC_ACT_*)
     * @param dataOut    the packet after the program ran (empty when dataSizeOut was 0)
     * @param durationNs mean run time per repetition
     * @param ctxOut     the context after the run, or null when no ctxIn was given
     */
    public record Result(int retval, byte[] dataOut, long durationNs, byte[] ctxOut) {}
}
