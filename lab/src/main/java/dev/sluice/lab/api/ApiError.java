package dev.sluice.lab.api;

import tools.jackson.databind.node.ObjectNode;

/** A refused request, answered as the API server answers: a {@code Status} object with the HTTP code, reason and message. */
public final class ApiError extends RuntimeException {
    public final int code;
    public final String reason;

    public ApiError(int code, String reason, String message) {
        super(message);
        this.code = code;
        this.reason = reason;
    }

    static ApiError notFound(ApiTypes.Type t, String name) {
        return new ApiError(404, "NotFound", t + " \"" + name + "\" not found");
    }

    static ApiError badRequest(String message) { return new ApiError(400, "BadRequest", message); }

    static ApiError invalid(String kind, String name, String field, String value, String detail) {
        return new ApiError(422, "Invalid", kind + " \"" + name + "\" is invalid: " + field + ": Invalid value: \"" + value + "\": " + detail);
    }

    ObjectNode status() { return status(code, reason, getMessage()); }

    static ObjectNode status(int code, String reason, String message) {
        ObjectNode s = ApiTypes.JSON.createObjectNode().put("kind", "Status").put("apiVersion", "v1");
        s.putObject("metadata");
        s.put("status", code < 300 ? "Success" : "Failure").put("message", message).put("reason", reason).put("code", code);
        return s;
    }
}
