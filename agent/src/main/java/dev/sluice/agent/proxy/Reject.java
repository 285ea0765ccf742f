package dev.sluice.agent.proxy;

/**
 * Why the proxy refused a request or a connection before any byte of it reached upstream: the reason
 * word (the counter's key in {@link ProxyStatus#rejections()}), the HTTP/1.1 status answered, and
 * the text for the observation and the answer's body.
 */
enum Reject {
    HEADER_TOO_LARGE("header_too_large", 431, "request header block larger than proxy.http.maxHeaderBytes"),
    TOO_MANY_HEADERS("too_many_headers", 431, "more header fields than proxy.http.maxHeaders"),
    REQUEST_LINE_TOO_LONG("request_line_too_long", 414, "request line longer than proxy.http.maxRequestLineBytes"),
    SMUGGLING_CL_TE("smuggling_cl_te", 400, "request smuggling: Content-Length together with Transfer-Encoding"),
    DUPLICATE_CONTENT_LENGTH("duplicate_content_length", 400, "request smuggling: more than one Content-Length"),
    BAD_CONTENT_LENGTH("bad_content_length", 400, "Content-Length is not a decimal number"),
    BAD_TRANSFER_ENCODING("bad_transfer_encoding", 501, "Transfer-Encoding other than a single chunked"),
    INVALID_HEADER_VALUE("invalid_header_value", 400, "CR, LF, NUL or another control character in a header value"),
    INVALID_HEADER_NAME("invalid_header_name", 400, "a header name with a character outside token"),
    OBS_FOLD("obs_fold", 400, "obsolete line folding (a header line starting with space or tab)"),
    BARE_LF("bare_lf", 400, "a line ending in LF without CR"),
    INVALID_METHOD("invalid_method", 400, "a method with a character outside token"),
    INVALID_TARGET("invalid_target", 400, "a request target that is not origin-form (/path?query) or holds CR, LF, NUL, space or #"),
    PATH_NOT_NORMALIZED("path_not_normalized", 400, "a path with a dot segment or an encoded '.', '/' or '\\\\'"),
    BAD_VERSION("bad_version", 505, "an HTTP version other than HTTP/1.0 or HTTP/1.1"),
    MISSING_HOST("missing_host", 400, "an HTTP/1.1 request without Host"),
    DUPLICATE_HOST("duplicate_host", 400, "more than one Host"),
    BAD_CHUNK("bad_chunk", 400, "a malformed chunked body"),
    BAD_REQUEST("bad_request", 400, "a malformed request"),
    REQUEST_HEADERS_TIMEOUT("request_headers_timeout", 408, "request headers not complete within proxy.http.requestHeadersTimeout"),
    IDLE_TIMEOUT("idle_timeout", 0, "no request within proxy.http.idleTimeout"),
    H2_RAPID_RESET("h2_rapid_reset", 0, "more RST_STREAM than proxy.http.http2MaxResetsPerWindow: GOAWAY ENHANCE_YOUR_CALM"),
    H2_REFUSED_STREAM("h2_refused_stream", 0, "a stream above SETTINGS_MAX_CONCURRENT_STREAMS: RST_STREAM REFUSED_STREAM"),
    H2_CONTINUATION_FLOOD("h2_continuation_flood", 0, "a header block split into many small CONTINUATION frames: GOAWAY ENHANCE_YOUR_CALM"),
    H2_HEADER_LIST_TOO_LARGE("h2_header_list_too_large", 431, "an HTTP/2 header list larger than proxy.http.maxHeaderBytes"),
    H2_BAD_REQUEST("h2_bad_request", 400, "an HTTP/2 request without :method, :path or with a bad header"),
    H2_PROTOCOL_ERROR("h2_protocol_error", 0, "an HTTP/2 protocol error: GOAWAY"),
    H2_STREAM_ERROR("h2_stream_error", 0, "an HTTP/2 stream error: RST_STREAM"),
    DIRECT_CONNECTION("direct_connection", 0, "a connection to the proxy's own listener, not redirected by the data path: closed"),
    UPSTREAM_REFUSED("upstream_refused", 503, "the upstream may not be opened for this flow");

    final String reason;
    final int status;
    final String text;

    Reject(String reason, int status, String text) {
        this.reason = reason;
        this.status = status;
        this.text = text;
    }
}
