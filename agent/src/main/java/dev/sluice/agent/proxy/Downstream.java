package dev.sluice.agent.proxy;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;

/** Where one exchange's response goes (an HTTP/1.1 connection or an HTTP/2 stream); called on its event loop. */
interface Downstream {
    /** A response head; {@code interim} for a 1xx (100 Continue) before the final one. */
    void responseHead(HttpResponse head, boolean interim);

    /** A piece of the response body; a LastHttpContent ends the (interim or final) response. */
    void responseContent(HttpContent c, boolean interim);

    /** The upstream failed: answer {@code status} when nothing was sent yet, else cut the response short. */
    void failed(int status, String reason);

    /** The exchange is over both ways; the next request may go. */
    void exchangeDone(Exchange e);

    boolean writable();

    /** Stop (or resume) reading the client while the upstream cannot take more. */
    void pauseReading(boolean pause);
}
