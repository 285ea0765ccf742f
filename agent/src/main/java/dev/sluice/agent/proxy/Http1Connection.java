package dev.sluice.agent.proxy;

import dev.sluice.agent.flow.L7Observation;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One downstream HTTP/1.1 connection: each request is validated, checked against the rules in force
 * now, and either answered 403 here or forwarded over a pooled upstream connection. Requests are
 * served one after another, so pipelined responses leave in request order; requests that arrive
 * while one is in flight wait (decoded) in a queue bounded by {@code maxBufferedBytes}.
 */
final class Http1Connection extends ChannelInboundHandlerAdapter implements Downstream {
    static final String DENIED_BODY = "Access denied\r\n";

    private final HttpProxy.Shared shared;
    private final Flow flow;
    private final Http1Decoder decoder;
    private ChannelHandlerContext ctx;
    private final ArrayDeque<Object> queue = new ArrayDeque<>();
    private long queuedBytes;
    private Exchange current;
    private boolean discarding, closeAfter, responseStarted, closing, clientHttp10;
    private PendingUpgrade upgrade;

    private record PendingUpgrade(FullHttpRequest request, L7Context ctx, long start, String url, Http2ServerUpgradeCodec codec,
                                  H2Connection h2, HttpHeaders responseHeaders) {}

    Http1Connection(HttpProxy.Shared shared, Flow flow, Http1Decoder decoder) {
        this.shared = shared;
        this.flow = flow;
        this.decoder = decoder;
    }

    @Override public void handlerAdded(ChannelHandlerContext ctx) { this.ctx = ctx; }

    @Override public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        if (current != null) current.abort();
        current = null;
        queue.forEach(ReferenceCountUtil::release);
        queue.clear();
        ctx.fireChannelInactive();
    }

    @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!queue.isEmpty() || (current != null && msg instanceof HttpRequest)) {
            queue.addLast(msg);
            queuedBytes += size(msg);
            if (queuedBytes > shared.cfg.maxBufferedBytes()) ctx.channel().config().setAutoRead(false);
            return;
        }
        handle(msg);
    }

    private void handle(Object msg) {
        if (msg instanceof HttpRequest req) {
            onRequest(req);
            if (msg instanceof FullHttpRequest) { // only the decoder's invalid requests are full
                ReferenceCountUtil.release(msg);
                return;
            }
        }
        if (msg instanceof HttpContent c) onContent(c);
        else if (!(msg instanceof HttpRequest)) ReferenceCountUtil.release(msg);
    }

    private void onRequest(HttpRequest req) {
        long start = System.nanoTime();
        String host = req.headers().get(HttpHeaderNames.HOST, "");
        String method = req.method().name();
        String url = "http://" + host + req.uri();
        Reject bad = validate(req);
        if (bad != null) {
            reject(bad, method, url);
            return;
        }
        var d = RequestCheck.decide(shared.policy, flow, method, RequestCheck.path(req.uri()), host, HttpProxy.headerMap(req.headers()));
        clientHttp10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
        closeAfter = !HttpUtil.isKeepAlive(req);
        responseStarted = false;
        if (!d.allowed()) {
            shared.counters.denied.increment();
            shared.observeRequest(flow, d.ctx(), "HTTP/1.1", method, url, L7Observation.Verdict.DENIED, d.reason(), req.headers());
            shared.observeResponse(flow, d.ctx(), "HTTP/1.1", method, url, 403, start, L7Observation.Verdict.DENIED, d.reason());
            boolean bodyMayFollow = HttpUtil.getContentLength(req, 0L) > 0 || HttpUtil.isTransferEncodingChunked(req);
            if (d.ctx() == null || (bodyMayFollow && HttpUtil.is100ContinueExpected(req))) closeAfter = true;
            discarding = true; // the body (if any) is dropped up to its end, then the connection serves the next request
            write(text(HttpResponseStatus.FORBIDDEN, DENIED_BODY, closeAfter), closeAfter);
            return;
        }
        shared.counters.forwarded.increment();
        shared.observeRequest(flow, d.ctx(), "HTTP/1.1", method, url, L7Observation.Verdict.FORWARDED, "", req.headers());
        if (h2cUpgrade(req)) {
            var h2 = H2Connection.create(shared, flow);
            var codec = new Http2ServerUpgradeCodec(h2);
            var full = new DefaultFullHttpRequest(req.protocolVersion(), req.method(), req.uri(), Unpooled.EMPTY_BUFFER,
                    req.headers().copy(), EmptyHttpHeaders.INSTANCE);
            HttpHeaders respHeaders = new DefaultHttpHeaders();
            if (codec.prepareUpgradeResponse(ctx, full, respHeaders)) { // switch once the request's end is read
                upgrade = new PendingUpgrade(full, d.ctx(), start, url, codec, h2, respHeaders);
                return;
            }
            full.release(); // an HTTP2-Settings that does not decode: serve it as HTTP/1.1 (RFC 9113 allows ignoring Upgrade)
        }
        HttpRequest up = new DefaultHttpRequest(HttpVersion.HTTP_1_1, req.method(), req.uri(), req.headers().copy());
        Exchange.stripHopByHop(up.headers());
        current = new Exchange(flow, d.ctx(), "HTTP/1.1", method, url, start, up, this, ctx.channel().eventLoop(), shared);
        current.start();
    }

    /** The checks before the policy; null when the request is well formed. */
    private Reject validate(HttpRequest req) {
        if (!req.decoderResult().isSuccess()) return reason(req.decoderResult().cause());
        HttpVersion v = req.protocolVersion();
        if (!v.equals(HttpVersion.HTTP_1_1) && !v.equals(HttpVersion.HTTP_1_0)) return Reject.BAD_VERSION;
        if (req.headers().size() > shared.cfg.maxHeaders()) return Reject.TOO_MANY_HEADERS;
        Reject t = RequestCheck.target(req.method().name(), req.uri());
        if (t != null) return t;
        List<String> te = req.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!te.isEmpty() && (te.size() != 1 || !te.getFirst().trim().equalsIgnoreCase("chunked"))) return Reject.BAD_TRANSFER_ENCODING;
        int hosts = req.headers().getAll(HttpHeaderNames.HOST).size();
        if (hosts > 1) return Reject.DUPLICATE_HOST;
        if (hosts == 0 && v.equals(HttpVersion.HTTP_1_1)) return Reject.MISSING_HOST;
        return null;
    }

    /** What Netty's strict decoder's failure means, as our reason. */
    static Reject reason(Throwable cause) {
        String m = String.valueOf(cause.getMessage());
        if (cause instanceof Http1Decoder.ObsFoldException) return Reject.OBS_FOLD;
        if (cause instanceof TooLongHttpHeaderException) return Reject.HEADER_TOO_LARGE;
        if (cause instanceof TooLongHttpLineException) return Reject.REQUEST_LINE_TOO_LONG;
        if (cause.getClass().getSimpleName().equals("ContentLengthNotAllowedException")) return Reject.SMUGGLING_CL_TE;
        if (cause.getClass().getSimpleName().equals("InvalidLineSeparatorException")) return Reject.BARE_LF;
        if (m.startsWith("Multiple Content-Length")) return Reject.DUPLICATE_CONTENT_LENGTH;
        if (m.startsWith("Content-Length value")) return Reject.BAD_CONTENT_LENGTH;
        if (m.startsWith("Validation failed for header")) return Reject.INVALID_HEADER_VALUE;
        if (m.startsWith("a header name")) return Reject.INVALID_HEADER_NAME;
        if (m.contains("HTTP Method") || m.startsWith("method")) return Reject.INVALID_METHOD;
        if (m.startsWith("invalid version format")) return Reject.INVALID_TARGET;
        if (m.contains("chunked") || m.contains("transfer coding") || m.contains("Transfer-Encoding")) return Reject.BAD_TRANSFER_ENCODING;
        return Reject.BAD_REQUEST;
    }

    private static boolean h2cUpgrade(HttpRequest req) {
        HttpHeaders h = req.headers();
        return h.containsValue(HttpHeaderNames.UPGRADE, "h2c", true) && h.getAll("http2-settings").size() == 1
                && h.containsValue(HttpHeaderNames.CONNECTION, "upgrade", true)
                && h.containsValue(HttpHeaderNames.CONNECTION, "http2-settings", true)
                && HttpUtil.getContentLength(req, 0L) == 0 && !HttpUtil.isTransferEncodingChunked(req);
    }

    private void reject(Reject r, String method, String url) {
        shared.counters.reject(r);
        shared.counters.error.increment();
        shared.observeRequest(flow, null, "HTTP/1.1", method, url, L7Observation.Verdict.ERROR, r.text, EmptyHttpHeaders.INSTANCE);
        closing = true;
        if (r.status == 0 || responseStarted) {
            ctx.close();
            return;
        }
        write(text(HttpResponseStatus.valueOf(r.status), r.text + "\r\n", true), true);
    }

    private void onContent(HttpContent c) {
        boolean last = c instanceof LastHttpContent;
        if (!c.decoderResult().isSuccess()) {
            c.release();
            if (current != null) current.abort();
            current = null;
            reject(Reject.BAD_CHUNK, "", "");
            return;
        }
        if (upgrade != null) {
            c.release();
            if (last) switchToH2();
            return;
        }
        if (discarding) {
            c.release();
            if (last) {
                discarding = false;
                if (!closing) drain();
            }
            return;
        }
        if (current != null) current.requestContent(c);
        else c.release();
    }

    private void switchToH2() {
        var u = upgrade;
        upgrade = null;
        var resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE).set(HttpHeaderNames.UPGRADE, "h2c").add(u.responseHeaders());
        ctx.writeAndFlush(resp);
        var p = ctx.pipeline();
        p.remove(HttpProxy.HTTP1_ENCODER); // the 101 went through it; the HTTP/2 preface must not
        u.codec().upgradeTo(ctx, u.request()); // adds the HTTP/2 handler after this one and opens stream 1
        u.h2().upgraded(u.request(), u.ctx(), u.start(), u.url());
        closing = true;
        p.remove(this);
        p.remove(decoder); // its leftover bytes (the client's preface, if already sent) go to the HTTP/2 handler
    }

    @Override public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == Http1Decoder.HeadTimeout.INSTANCE) {
            if (current != null) current.abort();
            current = null;
            reject(Reject.REQUEST_HEADERS_TIMEOUT, "", "");
        } else if (evt instanceof IdleStateEvent) {
            if (current == null && queue.isEmpty() && !discarding && upgrade == null && decoder.idle()) {
                shared.counters.reject(Reject.IDLE_TIMEOUT);
                closing = true;
                ctx.close();
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (current != null) current.downstreamWritable(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) { ctx.close(); }

    private void write(HttpResponse r, boolean close) {
        var f = ctx.writeAndFlush(r);
        if (close) {
            closing = true;
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    static FullHttpResponse text(HttpResponseStatus s, String body, boolean close) {
        ByteBuf b = Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII);
        var r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, s, b);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain").setInt(HttpHeaderNames.CONTENT_LENGTH, b.readableBytes());
        if (close) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return r;
    }

    /** What a waiting request object holds: its body bytes, or its head's text (so a flood of pipelined heads is bounded too). */
    private static long size(Object m) {
        long n = m instanceof ByteBufHolder h ? h.content().readableBytes() : 0;
        if (m instanceof HttpRequest r) {
            n += 64 + r.uri().length();
            for (var e : r.headers()) n += e.getKey().length() + e.getValue().length() + 4;
        }
        return n;
    }

    /** Serves what waited behind the finished request. */
    private void drain() {
        while (!queue.isEmpty() && !closing) {
            Object m = queue.peekFirst();
            if (m instanceof HttpRequest && (current != null || discarding)) break;
            queue.pollFirst();
            queuedBytes -= size(m);
            handle(m);
        }
        if (queuedBytes <= shared.cfg.maxBufferedBytes() && !closing) ctx.channel().config().setAutoRead(true);
    }

    // Downstream: the current exchange's response

    @Override public void responseHead(HttpResponse r, boolean interim) {
        if (!interim) {
            responseStarted = true;
            HttpHeaders h = r.headers();
            boolean framed = h.contains(HttpHeaderNames.CONTENT_LENGTH) || HttpUtil.isTransferEncodingChunked(r);
            int code = r.status().code();
            boolean bodyless = code == 204 || code == 304 || current != null && current.method.equals(HttpMethod.HEAD.name());
            if (!framed && !bodyless) { // the server ends its body by closing: re-frame it, or close after it
                if (clientHttp10) closeAfter = true;
                else HttpUtil.setTransferEncodingChunked(r, true);
            }
            if (closeAfter) h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            else if (clientHttp10) h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            r.setProtocolVersion(HttpVersion.HTTP_1_1);
        }
        ctx.write(r);
        if (interim) ctx.flush();
    }

    @Override public void responseContent(HttpContent c, boolean interim) {
        ctx.writeAndFlush(c);
    }

    @Override public void failed(int status, String reason) {
        if (current != null) current.abort();
        current = null;
        closing = true;
        if (responseStarted) ctx.close();
        else write(text(HttpResponseStatus.valueOf(status), "upstream unavailable\r\n", true), true);
    }

    @Override public void exchangeDone(Exchange e) {
        if (current != e) return;
        current = null;
        responseStarted = false;
        if (closeAfter) {
            closing = true;
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        drain();
    }

    @Override public boolean writable() { return ctx.channel().isWritable(); }

    @Override public void pauseReading(boolean pause) {
        if (closing) return;
        // resume only when the queue of waiting requests is under its bound too
        ctx.channel().config().setAutoRead(!pause && queuedBytes <= shared.cfg.maxBufferedBytes());
    }
}
