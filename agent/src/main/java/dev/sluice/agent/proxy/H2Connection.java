package dev.sluice.agent.proxy;

import dev.sluice.agent.flow.L7Observation;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * One downstream HTTP/2 cleartext connection (prior knowledge, or after an h2c upgrade). Each stream is
 * a request: validated, checked against the rules in force now, answered 403 on that stream alone or
 * forwarded upstream as HTTP/1.1 over the pool (one upstream connection per stream in flight). Netty's
 * codec enforces SETTINGS_MAX_CONCURRENT_STREAMS (RST_STREAM REFUSED_STREAM above it), the header list
 * size and the RST_STREAM rate (GOAWAY ENHANCE_YOUR_CALM): each counted here by reason.
 */
final class H2Connection extends Http2ConnectionHandler implements Http2FrameListener {
    private final HttpProxy.Shared shared;
    private final Flow flow;
    private final Map<Integer, Stream> streams = new HashMap<>();
    private ChannelHandlerContext ctx;

    private H2Connection(Http2ConnectionDecoder d, Http2ConnectionEncoder e, Http2Settings s, HttpProxy.Shared shared, Flow flow) {
        super(d, e, s);
        this.shared = shared;
        this.flow = flow;
    }

    static H2Connection create(HttpProxy.Shared shared, Flow flow) { return new Builder(shared, flow).build(); }

    private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<H2Connection, Builder> {
        private final HttpProxy.Shared shared;
        private final Flow flow;

        Builder(HttpProxy.Shared shared, Flow flow) {
            this.shared = shared;
            this.flow = flow;
            var c = shared.cfg;
            initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(c.http2MaxConcurrentStreams())
                    .maxHeaderListSize(c.maxHeaderBytes()));
            decoderEnforceMaxRstFramesPerWindow(c.http2MaxResetsPerWindow(), (int) Math.max(1, c.http2ResetWindow().toSeconds()));
            server(true);
        }

        @Override protected H2Connection build() { return super.build(); }

        @Override protected H2Connection build(Http2ConnectionDecoder d, Http2ConnectionEncoder e, Http2Settings s) {
            var h = new H2Connection(d, e, s, shared, flow);
            frameListener(h);
            return h;
        }
    }

    @Override public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        super.handlerAdded(ctx);
    }

    @Override public void channelActive(ChannelHandlerContext ctx) throws Exception {
        shared.counters.h2Connections.increment();
        super.channelActive(ctx);
    }

    @Override public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        for (Stream s : Map.copyOf(streams).values()) if (s.ex != null) s.ex.abort();
        streams.clear();
        super.channelInactive(ctx);
    }

    /** No byte for proxy.http.idleTimeout and no stream in flight: GOAWAY NO_ERROR and close. */
    @Override public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof io.netty.handler.timeout.IdleStateEvent) {
            if (streams.isEmpty()) {
                shared.counters.reject(Reject.IDLE_TIMEOUT);
                goAway(ctx, connection().remote().lastStreamCreated(), Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, ctx.newPromise());
                ctx.flush();
                ctx.close();
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override protected void onConnectionError(ChannelHandlerContext ctx, boolean outbound, Throwable cause, Http2Exception e) {
        if (!outbound) {
            Http2Error err = e == null ? Http2Error.INTERNAL_ERROR : e.error();
            String m = String.valueOf(cause.getMessage());
            if (err == Http2Error.ENHANCE_YOUR_CALM && m.contains("RST")) shared.counters.reject(Reject.H2_RAPID_RESET);
            else if (m.toLowerCase().contains("continuation")) shared.counters.reject(Reject.H2_CONTINUATION_FLOOD);
            else if (m.toLowerCase().contains("header") && m.toLowerCase().contains("size")) shared.counters.reject(Reject.H2_HEADER_LIST_TOO_LARGE);
            else shared.counters.reject(Reject.H2_PROTOCOL_ERROR);
        }
        super.onConnectionError(ctx, outbound, cause, e);
    }

    @Override protected void onStreamError(ChannelHandlerContext ctx, boolean outbound, Throwable cause, Http2Exception.StreamException e) {
        if (!outbound) {
            Stream s = streams.remove(e.streamId());
            if (s != null && s.ex != null) s.ex.abort();
            String m = String.valueOf(cause.getMessage()).toLowerCase();
            if (e.error() == Http2Error.REFUSED_STREAM) shared.counters.reject(Reject.H2_REFUSED_STREAM);
            else if (m.contains("header value") || m.contains("prohibited character") || m.contains("validation failed"))
                shared.counters.reject(Reject.INVALID_HEADER_VALUE); // CR, LF, NUL in a value: RST_STREAM PROTOCOL_ERROR
            else if (m.contains("header") && m.contains("size")) shared.counters.reject(Reject.H2_HEADER_LIST_TOO_LARGE);
            else shared.counters.reject(Reject.H2_STREAM_ERROR);
        }
        super.onStreamError(ctx, outbound, cause, e);
    }

    /** Stream 1 of an h2c upgrade: the HTTP/1.1 request that asked for it, already allowed by the rules. */
    void upgraded(FullHttpRequest req, L7Context l7, long start, String url) {
        HttpRequest up = new DefaultHttpRequest(HttpVersion.HTTP_1_1, req.method(), req.uri(), req.headers().copy());
        Exchange.stripHopByHop(up.headers());
        Stream s = new Stream(1);
        streams.put(1, s);
        s.ex = new Exchange(flow, l7, "HTTP/2", req.method().name(), url, start, up, s, ctx.channel().eventLoop(), shared);
        req.release();
        s.ex.start();
        if (s.ex != null) s.ex.requestContent(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    @Override public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean endOfStream) {
        Stream known = streams.get(streamId);
        if (known != null) { // trailers: the request ends here (their fields are not forwarded)
            if (endOfStream && known.ex != null) known.ex.requestContent(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        long start = System.nanoTime();
        String method = str(headers.method()), path = str(headers.path());
        String host = headers.authority() != null ? str(headers.authority()) : str(headers.get(HttpHeaderNames.HOST));
        String url = "http://" + host + path;
        Stream s = new Stream(streamId);
        streams.put(streamId, s);
        Reject bad = null;
        if (method.isEmpty() || path.isEmpty() || method.equals("CONNECT")) bad = Reject.H2_BAD_REQUEST;
        else if (headers.size() > shared.cfg.maxHeaders()) bad = Reject.TOO_MANY_HEADERS;
        else if (!method.chars().allMatch(c -> c > 0x20 && c < 0x7f && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) bad = Reject.INVALID_METHOD;
        else if (!valuesClean(headers)) bad = Reject.INVALID_HEADER_VALUE; // would become new lines in the HTTP/1.1 request upstream
        else bad = RequestCheck.target(method, path);
        if (bad != null) {
            shared.counters.reject(bad);
            shared.counters.error.increment();
            shared.observeRequest(flow, null, "HTTP/2", method, url, L7Observation.Verdict.ERROR, bad.text, new DefaultHttpHeaders());
            s.answer(bad.status == 0 ? 400 : bad.status, bad.text + "\r\n");
            return;
        }
        HttpHeaders h1 = new DefaultHttpHeaders();
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            String name = e.getKey().toString();
            if (name.startsWith(":")) continue;
            h1.add(name, e.getValue());
        }
        if (!h1.contains(HttpHeaderNames.HOST) && !host.isEmpty()) h1.set(HttpHeaderNames.HOST, host);
        var d = RequestCheck.decide(shared.policy, flow, method, RequestCheck.path(path), host, HttpProxy.headerMap(h1));
        if (!d.allowed()) {
            shared.counters.denied.increment();
            shared.observeRequest(flow, d.ctx(), "HTTP/2", method, url, L7Observation.Verdict.DENIED, d.reason(), h1);
            shared.observeResponse(flow, d.ctx(), "HTTP/2", method, url, 403, start, L7Observation.Verdict.DENIED, d.reason());
            s.answer(403, Http1Connection.DENIED_BODY);
            return;
        }
        shared.counters.forwarded.increment();
        shared.observeRequest(flow, d.ctx(), "HTTP/2", method, url, L7Observation.Verdict.FORWARDED, "", h1);
        HttpRequest up = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), path, h1);
        Exchange.stripHopByHop(up.headers());
        if (!endOfStream && !h1.contains(HttpHeaderNames.CONTENT_LENGTH)) HttpUtil.setTransferEncodingChunked(up, true);
        s.ex = new Exchange(flow, d.ctx(), "HTTP/2", method, url, start, up, s, ctx.channel().eventLoop(), shared);
        s.ex.start();
        if (endOfStream && s.ex != null) s.ex.requestContent(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /** No CR, LF, NUL or other control character (HTAB aside) in any value: HTTP/2 carries them, HTTP/1.1 must not. */
    private static boolean valuesClean(Http2Headers headers) {
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            CharSequence v = e.getValue();
            for (int i = 0; i < v.length(); i++) {
                char c = v.charAt(i);
                if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
            }
        }
        return true;
    }

    private static String str(CharSequence cs) { return cs == null ? "" : cs.toString(); }

    @Override public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                                        short weight, boolean exclusive, int padding, boolean endOfStream) {
        onHeadersRead(ctx, streamId, headers, padding, endOfStream);
    }

    @Override public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
        int processed = data.readableBytes() + padding;
        Stream s = streams.get(streamId);
        if (s != null && s.ex != null) {
            HttpContent c = endOfStream ? new DefaultLastHttpContent(data.retain()) : new DefaultHttpContent(data.retain());
            s.ex.requestContent(c);
        }
        return processed;
    }

    @Override public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
        Stream s = streams.remove(streamId);
        if (s != null && s.ex != null) s.ex.abort();
    }

    @Override public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int streamDependency, short weight, boolean exclusive) {}
    @Override public void onSettingsAckRead(ChannelHandlerContext ctx) {}
    @Override public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {}
    @Override public void onPingRead(ChannelHandlerContext ctx, long data) {}
    @Override public void onPingAckRead(ChannelHandlerContext ctx, long data) {}
    @Override public void onPushPromiseRead(ChannelHandlerContext ctx, int streamId, int promisedStreamId, Http2Headers headers, int padding) {}
    @Override public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {}
    @Override public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {}
    @Override public void onUnknownFrame(ChannelHandlerContext ctx, byte frameType, int streamId, Http2Flags flags, ByteBuf payload) {}

    /** One stream's response side. */
    private final class Stream implements Downstream {
        final int id;
        Exchange ex;
        boolean responseStarted;

        Stream(int id) { this.id = id; }

        /**
         * Answers the stream here (403, 400, 503). A request still sending its body may finish it: its
         * DATA is read and discarded (onDataRead: no stream), as clients such as curl take a RST_STREAM
         * NO_ERROR before their upload is done for a failed request; the stream limit and the idle
         * timeout bound a client that never finishes.
         */
        void answer(int status, String body) {
            ByteBuf b = Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII);
            Http2Headers h = new DefaultHttp2Headers().status(AsciiString.of(Integer.toString(status)))
                    .set(HttpHeaderNames.CONTENT_TYPE, "text/plain").setInt(HttpHeaderNames.CONTENT_LENGTH, b.readableBytes());
            encoder().writeHeaders(ctx, id, h, 0, false, ctx.newPromise());
            encoder().writeData(ctx, id, b, 0, true, ctx.newPromise());
            streams.remove(id);
            flush(ctx);
        }

        @Override public void responseHead(HttpResponse r, boolean interim) {
            if (!interim) responseStarted = true;
            Http2Headers h = HttpConversionUtil.toHttp2Headers(r, false);
            h.remove(HttpHeaderNames.TRANSFER_ENCODING);
            encoder().writeHeaders(ctx, id, h, 0, false, ctx.newPromise());
            flush(ctx);
        }

        @Override public void responseContent(HttpContent c, boolean interim) {
            if (interim) {
                c.release();
                return;
            }
            encoder().writeData(ctx, id, c.content(), 0, c instanceof LastHttpContent, ctx.newPromise());
            flush(ctx);
        }

        @Override public void failed(int status, String reason) {
            if (ex != null) ex.abort();
            ex = null;
            if (!streams.containsKey(id)) return;
            if (responseStarted) {
                streams.remove(id);
                resetStream(ctx, id, Http2Error.INTERNAL_ERROR.code(), ctx.newPromise());
                flush(ctx);
            } else {
                answer(status, "upstream unavailable\r\n");
            }
        }

        @Override public void exchangeDone(Exchange e) { streams.remove(id); }

        @Override public boolean writable() { return ctx.channel().isWritable(); }

        @Override public void pauseReading(boolean pause) { ctx.channel().config().setAutoRead(!pause); }
    }
}
