package dev.sluice.agent.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** A client that writes exactly the bytes a test gives it, as an attacker would, and parses HTTP/1.1 responses. */
final class RawHttp implements AutoCloseable {
    record Response(int status, Map<String, String> headers, String body) {}

    final Socket socket;
    private final InputStream in;

    RawHttp(InetSocketAddress proxy) throws IOException {
        socket = new Socket();
        socket.connect(proxy, 2000);
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
    }

    RawHttp send(String raw) throws IOException {
        socket.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
        return this;
    }

    Response read() throws IOException { return read(false); }

    /** The answer to a HEAD request: its head only, whatever Content-Length says. */
    Response readHead() throws IOException { return read(true); }

    private Response read(boolean head) throws IOException {
        String status = line();
        if (status == null) throw new IOException("connection closed before a response");
        Map<String, String> h = new LinkedHashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int c = l.indexOf(':');
            h.put(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
        }
        int code = Integer.parseInt(status.split(" ")[1]);
        String body = "";
        if (head) return new Response(code, h, body);
        if ("chunked".equalsIgnoreCase(h.get("transfer-encoding"))) {
            var out = new ByteArrayOutputStream();
            for (int n; (n = Integer.parseInt(line().split(";")[0].trim(), 16)) > 0; ) {
                out.write(in.readNBytes(n));
                line();
            }
            for (String l = line(); l != null && !l.isEmpty(); l = line()) { /* trailers */ }
            body = out.toString(StandardCharsets.ISO_8859_1);
        } else if (h.containsKey("content-length")) {
            body = new String(in.readNBytes(Integer.parseInt(h.get("content-length"))), StandardCharsets.ISO_8859_1);
        } else if (code >= 200 && code != 204 && code != 304) {
            body = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
        return new Response(code, h, body);
    }

    /** True when the proxy closed the connection (EOF) within the socket timeout. */
    boolean closedByPeer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    private String line() throws IOException {
        var b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) >= 0; ) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override public void close() throws IOException { socket.close(); }
}
