package dev.sluice.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Struct layouts from the BTF of a compiled BPF object, to check Java map records against the C
 * headers they mirror (the C side is the source of truth).
 *
 * <p>A struct only has BTF if the program uses it in a way the compiler keeps: as a map's key or
 * value ({@code __type(key, struct foo)}), a global, or a function argument. A {@code sizeof} alone
 * does not keep it.
 */
public final class Btf {
    private Btf() {}

    private static final int KIND_STRUCT = 4, KIND_UNION = 5, KIND_ENUM = 6, KIND_TYPEDEF = 8, KIND_VOLATILE = 9, KIND_CONST = 10,
            KIND_RESTRICT = 11, KIND_TYPE_TAG = 18;
    /** struct btf_enum: name_off, val (32 bits; ENUM64 is not used by our objects). */
    private static final long BTF_ENUM_SIZE = 8;

    /** A named member; anonymous struct/union members are flattened into their parent with adjusted offsets. */
    public record Member(String name, long offsetBytes, long sizeBytes) {}

    public record Struct(String name, long size, List<Member> members) {}

    /** The struct (or union) {@code name} from the object's BTF; empty when it has none. */
    public static Optional<Struct> struct(Path object, String name) {
        return withBtf(object, btf -> {
            int id = find(btf, name);
            if (id <= 0) return Optional.empty();
            List<CMember> ms = members(btf, id, 0);
            return Optional.of(new Struct(name, typeSize(btf, id),
                    ms.stream().map(m -> new Member(m.name, m.offset, m.size)).toList()));
        });
    }

    /**
     * The constants of each named C enum in the object's BTF, by enum then constant name (values as
     * the C side declares them, read as 32-bit ints), from one parse; an enum the object has no BTF
     * for is left out. An enum only has BTF when some kept type uses it (bpf/lib/constants.h).
     */
    public static Map<String, Map<String, Integer>> enums(Path object, java.util.Collection<String> names) {
        return withBtf(object, btf -> {
            Map<String, Map<String, Integer>> out = new LinkedHashMap<>();
            for (String n : names) enumIn(btf, n).ifPresent(v -> out.put(n, v));
            return out;
        });
    }

    private static Optional<Map<String, Integer>> enumIn(MemorySegment btf, String name) {
        int id;
        try (Arena a = Arena.ofConfined()) {
            id = Libbpf.call(Libbpf.BTF_FIND_BY_NAME_KIND, a, btf, a.allocateFrom(name), KIND_ENUM);
        }
        if (id <= 0) return Optional.empty();
        MemorySegment t;
        try (Arena a = Arena.ofConfined()) {
            int[] err = {0};
            t = Libbpf.callPtr(Libbpf.BTF_TYPE_BY_ID, a, err, btf, id);
        }
        int vlen = t.reinterpret(Libbpf.BTF_TYPE.byteSize()).get(JAVA_INT, Libbpf.off(Libbpf.BTF_TYPE, "info")) & 0xffff;
        t = t.reinterpret(Libbpf.BTF_TYPE.byteSize() + vlen * BTF_ENUM_SIZE);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int i = 0; i < vlen; i++) {
            long eo = Libbpf.BTF_TYPE.byteSize() + i * BTF_ENUM_SIZE;
            out.put(name(btf, t.get(JAVA_INT, eo)), t.get(JAVA_INT, eo + 4));
        }
        return Optional.of(out);
    }

    /**
     * Checks a Java layout against C struct {@code cStructName}: total size, and for every named member
     * of the Java layout, a C member of the same name at the same offset with the same size (nested
     * named groups are compared recursively as {@code outer.inner}; unnamed Java groups are flattened,
     * as C anonymous members are). Every C member must be matched by a Java member or lie inside Java
     * padding. Throws an AssertionError listing every mismatch.
     */
    public static void assertLayout(Path object, String cStructName, MemoryLayout javaLayout) {
        List<String> problems = withBtf(object, btf -> {
            int id = find(btf, cStructName);
            if (id <= 0) {
                return List.of("struct " + cStructName + " not found in the BTF of " + object
                        + " (a struct only has BTF when the program uses it, e.g. as a map key or value via __type())");
            }
            List<String> out = new ArrayList<>();
            long cSize = typeSize(btf, id);
            if (cSize != javaLayout.byteSize()) {
                out.add("size: Java " + javaLayout.byteSize() + " bytes, C " + cSize + " bytes");
            }
            if (javaLayout instanceof GroupLayout g) compare(btf, "", members(btf, id, 0), g, out);
            else out.add("Java layout is not a struct or union layout: " + javaLayout);
            return out;
        });
        if (!problems.isEmpty()) {
            throw new AssertionError("layout of struct " + cStructName + " (" + object.getFileName() + ") does not match Java layout "
                    + javaLayout.name().orElse(javaLayout.toString()) + ":\n  " + String.join("\n  ", problems));
        }
    }

    private record CMember(String name, long offset, long size, int typeId) {}

    private record JMember(String name, long offset, MemoryLayout layout) {}

    private static void compare(MemorySegment btf, String prefix, List<CMember> c, GroupLayout j, List<String> out) {
        List<JMember> jm = new ArrayList<>();
        List<long[]> padding = new ArrayList<>();
        javaMembers(j, 0, jm, padding);
        Map<String, CMember> byName = new LinkedHashMap<>();
        for (CMember m : c) byName.put(m.name, m);
        for (JMember m : jm) {
            CMember cm = byName.remove(m.name);
            String n = prefix + m.name;
            if (cm == null) {
                out.add(n + ": in Java at offset " + m.offset + " (" + m.layout.byteSize() + " bytes), absent in C");
                continue;
            }
            if (cm.offset != m.offset) out.add(n + ": offset Java " + m.offset + ", C " + cm.offset);
            if (cm.size != m.layout.byteSize()) out.add(n + ": size Java " + m.layout.byteSize() + ", C " + cm.size);
            int resolved = skipQualifiers(btf, cm.typeId);
            int kind = kind(btf, resolved);
            if (m.layout instanceof GroupLayout g && (kind == KIND_STRUCT || kind == KIND_UNION)) {
                compare(btf, n + ".", members(btf, resolved, 0), g, out);
            }
        }
        for (CMember cm : byName.values()) {
            boolean inPadding = padding.stream().anyMatch(p -> cm.offset >= p[0] && cm.offset + cm.size <= p[1]);
            if (!inPadding) out.add(prefix + cm.name + ": in C at offset " + cm.offset + " (" + cm.size + " bytes), absent in Java");
        }
    }

    private static void javaMembers(GroupLayout g, long base, List<JMember> out, List<long[]> padding) {
        long off = base;
        for (MemoryLayout m : g.memberLayouts()) {
            long at = g instanceof UnionLayout ? base : off;
            if (m instanceof PaddingLayout) {
                padding.add(new long[] {at, at + m.byteSize()});
            } else if (m.name().isPresent()) {
                out.add(new JMember(m.name().get(), at, m));
            } else if (m instanceof GroupLayout inner) {
                javaMembers(inner, at, out, padding);
            } else {
                out.add(new JMember("<unnamed " + m + ">", at, m));
            }
            if (g instanceof StructLayout) off += m.byteSize();
        }
    }

    // ---- BTF reading ----
    private interface BtfFn<T> { T apply(MemorySegment btf); }

    private static <T> T withBtf(Path object, BtfFn<T> fn) {
        if (!Files.isRegularFile(object)) {
            throw new BpfException("object " + object, "btf__parse_elf", Libbpf.ENOENT,
                    "no such file (BPF objects are built by `make bpf` into build/bpf/)");
        }
        MemorySegment btf;
        try (Arena a = Arena.ofConfined()) {
            int[] err = {0};
            btf = Libbpf.callPtr(Libbpf.BTF_PARSE_ELF, a, err, a.allocateFrom(object.toString()), MemorySegment.NULL);
            if (btf.equals(MemorySegment.NULL)) throw new BpfException("object " + object, "btf__parse_elf", err[0], "compiled without -g?");
        }
        try {
            return fn.apply(btf);
        } finally {
            Libbpf.plain(Libbpf.BTF_FREE, btf);
        }
    }

    private static int find(MemorySegment btf, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocateFrom(name);
            for (int kind : new int[] {KIND_STRUCT, KIND_UNION, KIND_TYPEDEF}) {
                int id = Libbpf.call(Libbpf.BTF_FIND_BY_NAME_KIND, a, btf, n, kind);
                if (id > 0) return kind == KIND_TYPEDEF ? skipQualifiers(btf, id) : id;
            }
            return -1;
        }
    }

    private static MemorySegment type(MemorySegment btf, int id) {
        try (Arena a = Arena.ofConfined()) {
            int[] err = {0};
            MemorySegment t = Libbpf.callPtr(Libbpf.BTF_TYPE_BY_ID, a, err, btf, id);
            if (t.equals(MemorySegment.NULL)) throw new BpfException("btf type " + id, "btf__type_by_id", err[0]);
            int vlen = t.reinterpret(Libbpf.BTF_TYPE.byteSize()).get(JAVA_INT, 4) & 0xffff;
            return t.reinterpret(Libbpf.BTF_TYPE.byteSize() + (long) vlen * Libbpf.BTF_MEMBER.byteSize());
        }
    }

    private static int kind(MemorySegment btf, int id) {
        return (type(btf, id).get(JAVA_INT, Libbpf.off(Libbpf.BTF_TYPE, "info")) >>> 24) & 0x1f;
    }

    private static int skipQualifiers(MemorySegment btf, int id) {
        while (true) {
            int k = kind(btf, id);
            if (k != KIND_TYPEDEF && k != KIND_VOLATILE && k != KIND_CONST && k != KIND_RESTRICT && k != KIND_TYPE_TAG) return id;
            id = type(btf, id).get(JAVA_INT, Libbpf.off(Libbpf.BTF_TYPE, "size_or_type"));
        }
    }

    private static long typeSize(MemorySegment btf, int id) {
        long s = (long) Libbpf.plain(Libbpf.BTF_RESOLVE_SIZE, btf, id);
        if (s < 0) throw new BpfException("btf type " + id, "btf__resolve_size", (int) -s);
        return s;
    }

    private static String name(MemorySegment btf, int off) {
        try (Arena a = Arena.ofConfined()) {
            int[] err = {0};
            String s = Libbpf.string(Libbpf.callPtr(Libbpf.BTF_NAME_BY_OFFSET, a, err, btf, off));
            return s == null ? "" : s;
        }
    }

    /** Members of struct/union {@code id} at {@code base} bytes, anonymous members flattened. */
    private static List<CMember> members(MemorySegment btf, int id, long base) {
        MemorySegment t = type(btf, id);
        int info = t.get(JAVA_INT, Libbpf.off(Libbpf.BTF_TYPE, "info"));
        int vlen = info & 0xffff;
        boolean kflag = (info >>> 31) != 0;
        List<CMember> out = new ArrayList<>();
        for (int i = 0; i < vlen; i++) {
            long mo = Libbpf.BTF_TYPE.byteSize() + (long) i * Libbpf.BTF_MEMBER.byteSize();
            String n = name(btf, t.get(JAVA_INT, mo + Libbpf.off(Libbpf.BTF_MEMBER, "name_off")));
            int typeId = t.get(JAVA_INT, mo + Libbpf.off(Libbpf.BTF_MEMBER, "type"));
            int raw = t.get(JAVA_INT, mo + Libbpf.off(Libbpf.BTF_MEMBER, "offset"));
            long bitOff = kflag ? raw & 0xffffff : Integer.toUnsignedLong(raw);
            int bitSize = kflag ? raw >>> 24 : 0;
            long off = base + bitOff / 8;
            if (n.isEmpty()) {
                int r = skipQualifiers(btf, typeId);
                int k = kind(btf, r);
                if (k == KIND_STRUCT || k == KIND_UNION) out.addAll(members(btf, r, off));
                continue;
            }
            long size = bitSize > 0 ? (bitSize + 7) / 8 : typeSize(btf, typeId);
            out.add(new CMember(n, off, size, typeId));
        }
        return out;
    }
}
