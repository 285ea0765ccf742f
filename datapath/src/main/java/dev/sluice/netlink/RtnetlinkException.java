package dev.sluice.netlink;

/**
 * The kernel refused an rtnetlink request, or the socket failed. The message reads
 * {@code "<subject>: <operation>: <strerror> (errno N)[; kernel: <reason>]"}, e.g.
 * {@code "link lxc123: RTM_NEWLINK: File exists (errno 17)"}; the reason is the kernel's extended
 * ACK text when it sent one.
 */
public final class RtnetlinkException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public RtnetlinkException(String subject, String operation, int errno) { this(subject, operation, errno, null); }

    public RtnetlinkException(String subject, String operation, int errno, String kernelReason) {
        super(subject + ": " + operation + ": " + (errno == 0 ? "failed" : NetlinkSocket.strerror(errno) + " (errno " + errno + ")")
                + (kernelReason == null || kernelReason.isBlank() ? "" : "; kernel: " + kernelReason));
        this.errno = errno;
    }

    /** The positive errno (0 when the failure was found here, e.g. a malformed reply). */
    public int errno() { return errno; }
}
