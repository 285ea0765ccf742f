package dev.sluice.agent.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An HTTP/2 client on raw frames (HPACK by Netty's coder): it sends what a test says, including what no
 * well-behaved client would (resets in a burst, header blocks that never end), and reads every frame.
 */
final class RawH2 implements AutoCloseable {
    static final int DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
    static final int END_STREAM = 1, END_HEADERS = 4, ACK = 1;

    record Frame(int type, int flags, int stream, byte[] payload, Http2Headers headers) {
        int errorCode() { // RST_STREAM: the first 4 bytes; GOAWAY: bytes 4-7
            int o = type == GOAWAY ? 4 : 0;
            return ((payload[o] & 0xff) << 24) | ((payload[o + 1] & 0xff) << 16) | ((payload[o + 2] & 0xff) << 8) | (payload[o + 3] & 0xff);
        }

        String text() { return new String(payload, StandardCharsets.ISO_8859_1); }
    }

    /** What came back on one stream. */
    record Answer(Http2Headers headers, String body, int resetCode) {
        String status() { return headers == null ? "" : String.valueOf(headers.status()); }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
    private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false, 1 << 20);
    final List<Frame> received = new ArrayList<>();

    /** Prior knowledge: the connection preface and an empty SETTINGS first. */
    RawH2(InetSocketAddress proxy) throws IOException {
        socket = new Socket();
        socket.connect(proxy, 2000);
        socket.setSoTimeout(5000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
        out.write(ByteBufUtil.getBytes(Http2CodecUtil.connectionPrefaceBuf()));
        frame(SETTINGS, 0, 0, new byte[0]);
    }

    static Http2Headers get(String path) {
        return new DefaultHttp2Headers().method("GET").path(path).scheme("http").authority("backend");
    }

    /** Like {@link #get} with no validation at all: the test may put anything in it. */
    static Http2Headers unchecked(String path) {
        return new DefaultHttp2Headers(false).method("GET").path(path).scheme("http").authority("backend");
    }

    void headers(int stream, Http2Headers h, boolean endStream) throws IOException {
        frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, hpack(h));
    }

    byte[] hpack(Http2Headers h) {
        ByteBuf b = Unpooled.buffer();
        try {
            encoder.encodeHeaders(0, h, b);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return ByteBufUtil.getBytes(b);
    }

    void rst(int stream, int code) throws IOException {
        frame(RST_STREAM, 0, stream, new byte[] {(byte) (code >>> 24), (byte) (code >>> 16), (byte) (code >>> 8), (byte) code});
    }

    void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        byte[] f = new byte[9 + payload.length];
        f[0] = (byte) (payload.length >>> 16);
        f[1] = (byte) (payload.length >>> 8);
        f[2] = (byte) payload.length;
        f[3] = (byte) type;
        f[4] = (byte) flags;
        f[5] = (byte) (stream >>> 24);
        f[6] = (byte) (stream >>> 16);
        f[7] = (byte) (stream >>> 8);
        f[8] = (byte) stream;
        System.arraycopy(payload, 0, f, 9, payload.length);
        out.write(f);
        out.flush();
    }

    /** The next frame (SETTINGS are acknowledged), or null at EOF. */
    Frame next() throws IOException {
        byte[] h = new byte[9];
        try {
            in.readFully(h);
        } catch (java.io.EOFException | java.net.SocketException e) {
            return null;
        }
        int len = ((h[0] & 0xff) << 16) | ((h[1] & 0xff) << 8) | (h[2] & 0xff);
        byte[] p = new byte[len];
        in.readFully(p);
        int type = h[3], flags = h[4] & 0xff, stream = ((h[5] & 0x7f) << 24) | ((h[6] & 0xff) << 16) | ((h[7] & 0xff) << 8) | (h[8] & 0xff);
        Http2Headers decoded = null;
        if (type == HEADERS) {
            try {
                decoded = decoder.decodeHeaders(stream, Unpooled.wrappedBuffer(p));
            } catch (Exception e) {
                throw new IOException(e);
            }
        }
        if (type == SETTINGS && (flags & ACK) == 0) frame(SETTINGS, ACK, 0, new byte[0]);
        var f = new Frame(type, flags, stream, p, decoded);
        received.add(f);
        return f;
    }

    /** Reads frames until {@code stream} ends (END_STREAM or RST_STREAM) or the connection does (GOAWAY, EOF). */
    Answer answer(int stream) throws IOException {
        Http2Headers headers = null;
        StringBuilder body = new StringBuilder();
        for (Frame f : received) { // frames that came while waiting for another stream
            if (f.stream() != stream) continue;
            if (f.type() == HEADERS && headers == null && !f.headers().status().toString().startsWith("1")) headers = f.headers();
            if (f.type() == DATA) body.append(f.text());
            if (f.type() == RST_STREAM) return new Answer(headers, body.toString(), f.errorCode());
            if ((f.type() == DATA || f.type() == HEADERS) && (f.flags() & END_STREAM) != 0) return new Answer(headers, body.toString(), -1);
        }
        for (Frame f; (f = next()) != null; ) {
            if (f.type() == GOAWAY) return new Answer(headers, body.toString(), -2);
            if (f.stream() != stream) continue;
            if (f.type() == HEADERS && headers == null && !f.headers().status().toString().startsWith("1")) headers = f.headers();
            if (f.type() == DATA) body.append(f.text());
            if (f.type() == RST_STREAM) return new Answer(headers, body.toString(), f.errorCode());
            if ((f.type() == DATA || f.type() == HEADERS) && (f.flags() & END_STREAM) != 0) return new Answer(headers, body.toString(), -1);
        }
        return new Answer(headers, body.toString(), -3);
    }

    /** Reads until a GOAWAY (returned) or EOF (null). */
    Frame goAway() throws IOException {
        for (Frame f : received) if (f.type() == GOAWAY) return f;
        for (Frame f; (f = next()) != null; ) if (f.type() == GOAWAY) return f;
        return null;
    }

    @Override public void close() throws IOException { socket.close(); }
}
