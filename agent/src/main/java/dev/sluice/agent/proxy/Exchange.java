package dev.sluice.agent.proxy;

import dev.sluice.agent.flow.L7Observation;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One allowed request on its way to the original destination and its response on the way back. Lives
 * on the downstream's event loop; its upstream channel is taken from the pool on the same loop.
 */
final class Exchange {
    final Flow flow;
    final L7Context ctx;
    final String protocol;
    final String method;
    final String url;
    private final long startNanos;
    private final HttpRequest head;
    private final Downstream down;
    private final EventLoop loop;
    private final HttpProxy.Shared shared;
    private final ArrayDeque<HttpContent> pending = new ArrayDeque<>();
    private long pendingBytes;
    private Future<Channel> acquiring;
    private Channel up;
    private boolean requestDone, responseDone, interim, aborted, reusable = true, finished;
    int status;

    Exchange(Flow flow, L7Context ctx, String protocol, String method, String url, long startNanos, HttpRequest head,
             Downstream down, EventLoop loop, HttpProxy.Shared shared) {
        this.flow = flow;
        this.ctx = ctx;
        this.protocol = protocol;
        this.method = method;
        this.url = url;
        this.startNanos = startNanos;
        this.head = head;
        this.down = down;
        this.loop = loop;
        this.shared = shared;
    }

    /** Hop-by-hop headers (RFC 9110 7.6.1): never forwarded, in either direction. */
    static void stripHopByHop(HttpHeaders h) {
        String conn = h.get("connection");
        if (conn != null) for (String name : conn.split(",")) if (!name.isBlank()) h.remove(name.trim());
        for (String name : List.of("connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                "http2-settings", "proxy-authorization", "proxy-authenticate"))
            h.remove(name);
    }

    void start() {
        if (!ctx.upstreamAllowed()) {
            shared.counters.reject(Reject.UPSTREAM_REFUSED);
            fail(503, "upstream refused: " + ctx.refusal());
            return;
        }
        acquiring = shared.pool.acquire(loop, new UpstreamPool.Key(flow.dst(), ctx.upstreamMark()));
        acquiring.addListener(f -> {
            if (f.isSuccess()) attach((Channel) f.getNow());
            else if (!f.isCancelled()) fail(503, "upstream connect to " + flow.dstIp() + ":" + flow.dst().getPort() + " failed: " + f.cause().getMessage());
        });
    }

    private void attach(Channel ch) {
        if (aborted) {
            shared.pool.release(ch, true);
            return;
        }
        up = ch;
        UpstreamPool.handler(ch).current = this;
        ch.write(head);
        while (!pending.isEmpty()) ch.write(pending.pollFirst());
        pendingBytes = 0;
        ch.flush();
        down.pauseReading(!ch.isWritable());
    }

    void requestContent(HttpContent c) {
        boolean last = c instanceof LastHttpContent;
        if (last) requestDone = true;
        if (aborted || responseDone) { // the server answered early or we gave up: the rest of the body goes nowhere
            c.release();
        } else if (up == null) {
            pending.addLast(c);
            pendingBytes += c.content().readableBytes();
            if (pendingBytes > shared.cfg.maxBufferedBytes()) down.pauseReading(true);
        } else {
            up.write(c);
            if (last || !up.isWritable()) up.flush();
            if (!up.isWritable()) down.pauseReading(true);
        }
        if (last) maybeDone();
    }

    void upstreamWritable(boolean writable) { down.pauseReading(!writable); }

    void downstreamWritable(boolean writable) {
        if (up != null) up.config().setAutoRead(writable);
    }

    void onHead(HttpResponse r) {
        int code = r.status().code();
        interim = code >= 100 && code < 200;
        if (code == 101) { // we never ask for an upgrade upstream: a server that switches is not speaking HTTP/1.1 to us
            aborted = true;
            up.close();
            return;
        }
        if (!interim) {
            status = code;
            if (!HttpUtil.isKeepAlive(r)) reusable = false;
            observeResponse(code, L7Observation.Verdict.FORWARDED, "");
        }
        stripHopByHop(r.headers());
        down.responseHead(r, interim);
    }

    void onContent(HttpContent c) {
        boolean last = c instanceof LastHttpContent;
        boolean wasInterim = interim;
        if (last && interim) interim = false;
        down.responseContent(c, wasInterim);
        if (up != null && !down.writable()) up.config().setAutoRead(false);
        if (last && !wasInterim) {
            responseDone = true;
            if (!requestDone) { // answered before the whole request was sent: the connection is out of step
                reusable = false;
                releaseUpstream();
            }
            maybeDone();
        }
    }

    void onUpstreamClosed(String why) {
        up = null;
        if (responseDone || aborted) return;
        reusable = false;
        shared.counters.error.increment();
        if (status == 0) observeResponse(503, L7Observation.Verdict.ERROR, why);
        down.failed(503, why);
    }

    private void fail(int code, String why) {
        shared.counters.error.increment();
        observeResponse(code, L7Observation.Verdict.ERROR, why);
        down.failed(code, why);
    }

    private void maybeDone() {
        if (!requestDone || !responseDone || finished) return;
        finished = true;
        releaseUpstream();
        down.exchangeDone(this);
    }

    private void releaseUpstream() {
        Channel ch = up;
        up = null;
        if (ch != null) shared.pool.release(ch, reusable && requestDone);
    }

    /** The downstream went away or broke mid-request: drop everything, never reuse the upstream. */
    void abort() {
        if (finished) return;
        aborted = true;
        finished = true;
        pending.forEach(ReferenceCountUtil::release);
        pending.clear();
        if (acquiring != null && !acquiring.isDone()) acquiring.cancel(false);
        reusable = false;
        releaseUpstream();
    }

    private void observeResponse(int code, L7Observation.Verdict verdict, String reason) {
        shared.observe(new L7Observation.Http(Instant.now(), flow.ingress(), L7Observation.Type.RESPONSE, flow.srcIp(),
                flow.src().getPort(), ctx.sourceIdentity(), flow.dstIp(), flow.dst().getPort(), ctx.destinationIdentity(),
                verdict, protocol, method, url, code, System.nanoTime() - startNanos, List.of(), reason));
    }
}
