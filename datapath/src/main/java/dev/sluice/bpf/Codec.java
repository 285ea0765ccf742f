package dev.sluice.bpf;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Converts a Java value to and from the bytes of a C map key or value.
 *
 * <p>Byte order: the C struct's native (little-endian) layout. Fields that C holds in network order
 * ({@code __be32} addresses, {@code __be16} ports) are converted by the codec, e.g. with
 * {@code ValueLayout.JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN)}.
 *
 * <p>{@link #layout()}'s byte size must equal the map's key or value size; {@link TypedMap} checks it.
 * The segments handed to {@code write} and {@code read} are native and 8-byte aligned, exactly
 * {@code layout().byteSize()} long, and valid only during the call: do not keep them.
 */
public interface Codec<T> {
    MemoryLayout layout();

    void write(MemorySegment dst, T value);

    T read(MemorySegment src);

    static <T> Codec<T> of(MemoryLayout layout, BiConsumer<MemorySegment, T> writer, Function<MemorySegment, T> reader) {
        return new Codec<>() {
            @Override public MemoryLayout layout() { return layout; }
            @Override public void write(MemorySegment dst, T value) { writer.accept(dst, value); }
            @Override public T read(MemorySegment src) { return reader.apply(src); }
        };
    }

    /** A {@code __u32} in host order. */
    static Codec<Integer> u32() {
        return of(ValueLayout.JAVA_INT, (s, v) -> s.set(ValueLayout.JAVA_INT, 0, v), s -> s.get(ValueLayout.JAVA_INT, 0));
    }

    /** A {@code __u64} in host order. */
    static Codec<Long> u64() {
        return of(ValueLayout.JAVA_LONG, (s, v) -> s.set(ValueLayout.JAVA_LONG, 0, v), s -> s.get(ValueLayout.JAVA_LONG, 0));
    }

    /** Raw bytes of a fixed size (e.g. a value this code does not interpret). */
    static Codec<byte[]> bytes(int size) {
        return of(MemoryLayout.sequenceLayout(size, ValueLayout.JAVA_BYTE),
                (s, v) -> {
                    if (v.length != size) throw new IllegalArgumentException("value: " + v.length + " bytes (expected: " + size + ")");
                    MemorySegment.copy(v, 0, s, ValueLayout.JAVA_BYTE, 0, size);
                },
                s -> s.toArray(ValueLayout.JAVA_BYTE));
    }
}
