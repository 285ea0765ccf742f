package dev.sluice.agent.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Netty's strict HTTP/1.1 request decoder (header names and values validated, CR required before LF,
 * duplicate Content-Length and Content-Length with Transfer-Encoding refused) plus what it lets
 * through: obsolete line folding, which it would join into one value, is refused here; and the
 * request-headers timer (slowloris): a head whose first byte came {@code timeoutMs} ago and is not
 * complete fires {@link HeadTimeout}.
 */
final class Http1Decoder extends HttpRequestDecoder {
    /** The event a slow head fires down the pipeline. */
    enum HeadTimeout { INSTANCE }

    /** The cause of the invalid request emitted for obs-fold. */
    static final class ObsFoldException extends IllegalArgumentException {
        ObsFoldException() { super("obsolete line folding in the header block"); }
    }

    private final long timeoutMs;
    private final int scanLimit;
    private boolean expectingHead = true, failed;
    private ScheduledFuture<?> timer;

    Http1Decoder(int maxLine, int maxHeaderBytes, long timeoutMs) {
        super(new HttpDecoderConfig().setMaxInitialLineLength(maxLine).setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(65536).setAllowDuplicateContentLengths(false).setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true)
                .setHeadersFactory(DefaultHttpHeadersFactory.headersFactory().withValidation(true))
                .setTrailersFactory(DefaultHttpHeadersFactory.trailersFactory().withValidation(true)));
        this.timeoutMs = timeoutMs;
        this.scanLimit = maxLine + maxHeaderBytes + 4;
    }

    /** True while no byte of a request head is pending (the connection is idle between requests). */
    boolean idle() { return expectingHead && timer == null; }

    @Override protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (expectingHead && in.isReadable()) {
            if (timer == null) timer = ctx.executor().schedule(() -> {
                if (expectingHead && timer != null && !failed && ctx.channel().isActive()) ctx.fireUserEventTriggered(HeadTimeout.INSTANCE);
            }, timeoutMs, TimeUnit.MILLISECONDS);
            if (folded(in)) {
                failed = true;
                in.skipBytes(in.readableBytes());
                var bad = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad-request", Unpooled.EMPTY_BUFFER);
                bad.setDecoderResult(DecoderResult.failure(new ObsFoldException()));
                out.add(bad);
                cancel();
                return;
            }
        }
        int before = out.size();
        super.decode(ctx, in, out);
        for (int i = before; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpRequest r) {
                expectingHead = false;
                cancel();
                if (!r.decoderResult().isSuccess()) failed = true;
            }
            if (o instanceof LastHttpContent) expectingHead = true;
        }
    }

    private void cancel() {
        if (timer != null) timer.cancel(false);
        timer = null;
    }

    /** Whether the head at the reader index has a line (after the request line) starting with SP or HT. */
    private boolean folded(ByteBuf in) {
        int i = in.readerIndex(), end = Math.min(in.writerIndex(), in.readerIndex() + scanLimit);
        while (i < end && (in.getByte(i) == '\r' || in.getByte(i) == '\n')) i++; // empty lines before a request are skipped
        for (; i < end; i++) {
            if (in.getByte(i) != '\n' || i + 1 >= end) continue;
            byte b = in.getByte(i + 1);
            if (b == '\r' || b == '\n') return false; // the empty line: the head ends here
            if (b == ' ' || b == '\t') return true;
        }
        return false;
    }

    @Override protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
        cancel();
        super.handlerRemoved0(ctx);
    }
}
