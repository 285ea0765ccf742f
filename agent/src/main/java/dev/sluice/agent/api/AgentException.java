package dev.sluice.agent.api;

/** A failed agent API call; the message is one line naming the socket and method. */
public final class AgentException extends RuntimeException {
    public AgentException(String message) { super(message); }
}
