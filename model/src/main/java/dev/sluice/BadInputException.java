package dev.sluice;

/** Bad input from the command line or its files: exit code 2, message is one line. */
public final class BadInputException extends RuntimeException {
    public BadInputException(String message) { super(message); }
}
