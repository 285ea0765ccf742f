package dev.sluice.agent.api;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Client of the agent API: one JSON object per line on the agent's Unix socket.
 * Request {@code {"method":M,"params":{...}}}; each response line is {@code {"ok":true,"result":R}}
 * or {@code {"ok":false,"error":"one line"}}. Streaming methods (monitor) send many result lines.
 */
public final class AgentClient {
    static final JsonMapper JSON = JsonMapper.builder().build();

    private AgentClient() {}

    /** Calls a method and returns its result; throws {@link AgentException} naming the socket on failure. */
    public static JsonNode call(Path socket, String method, Map<String, ?> params) {
        JsonNode[] out = new JsonNode[1];
        stream(socket, method, params, r -> { out[0] = r; return false; });
        return out[0];
    }

    /** Calls a streaming method; {@code onResult} returns false to stop reading. */
    public static void stream(Path socket, String method, Map<String, ?> params, Predicate<JsonNode> onResult) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            OutputStream os = Channels.newOutputStream(ch);
            byte[] req = JSON.writeValueAsBytes(Map.of("method", method, "params", params == null ? Map.of() : params));
            os.write(req);
            os.write('\n');
            os.flush();
            var in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                JsonNode resp = JSON.readTree(line);
                if (!resp.path("ok").asBoolean(false))
                    throw new AgentException(socket + ": " + method + ": " + resp.path("error").asString("no error text"));
                if (!onResult.test(resp.path("result"))) return;
            }
            throw new AgentException(socket + ": " + method + ": the agent closed the connection without an answer");
        } catch (IOException e) {
            throw new AgentException(socket + ": cannot reach the agent (" + e.getMessage() + "); expected: a running agent listening there");
        }
    }
}
