package dev.sluice.bpf;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Every libbpf and libc function this package calls, bound once. Functions that can fail capture
 * errno; the {@code call*} helpers turn libbpf's "negative errno or NULL + errno" convention into
 * a single int: the result when {@code >= 0}, else {@code -errno}.
 *
 * <p>C struct layouts are written by hand from /usr/include/bpf/*.h and /usr/include/linux/bpf.h
 * (libbpf 1.1); each options struct starts with {@code size_t sz}, which callers must set to the
 * layout's size so libbpf can check compatibility.
 */
final class Libbpf {
    private Libbpf() {}

    private static final Logger LIBBPF_LOG = LoggerFactory.getLogger("dev.sluice.bpf.libbpf");

    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LIB = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());
    static final SymbolLookup LIBC = LINKER.defaultLookup();
    static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(groupElement("errno"));
    static final AddressLayout C_STRING = ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(Long.MAX_VALUE, JAVA_BYTE));

    // errno values used by name
    static final int EPERM = 1, ENOENT = 2, EINTR = 4, EAGAIN = 11, EEXIST = 17, EINVAL = 22, ENOSPC = 28,
            EOPNOTSUPP = 95, ENOLINK = 67, ENOTSUPP = 524;

    // ---- C layouts (x86_64 LP64) ----
    /** struct bpf_tc_hook (libbpf.h). */
    static final StructLayout TC_HOOK = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), JAVA_INT.withName("ifindex"), JAVA_INT.withName("attach_point"),
            JAVA_INT.withName("parent"), MemoryLayout.paddingLayout(4));
    /** struct bpf_tc_opts (libbpf.h). */
    static final StructLayout TC_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), JAVA_INT.withName("prog_fd"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("prog_id"), JAVA_INT.withName("handle"), JAVA_INT.withName("priority"),
            MemoryLayout.paddingLayout(4));
    /** struct bpf_test_run_opts (bpf.h). */
    static final StructLayout TEST_RUN_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), ADDRESS.withName("data_in"), ADDRESS.withName("data_out"),
            JAVA_INT.withName("data_size_in"), JAVA_INT.withName("data_size_out"),
            ADDRESS.withName("ctx_in"), ADDRESS.withName("ctx_out"),
            JAVA_INT.withName("ctx_size_in"), JAVA_INT.withName("ctx_size_out"),
            JAVA_INT.withName("retval"), JAVA_INT.withName("repeat"), JAVA_INT.withName("duration"),
            JAVA_INT.withName("flags"), JAVA_INT.withName("cpu"), JAVA_INT.withName("batch_size"));
    /** struct bpf_map_batch_opts (bpf.h). */
    static final StructLayout MAP_BATCH_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), JAVA_LONG.withName("elem_flags"), JAVA_LONG.withName("flags"));
    /** struct bpf_map_info (linux/bpf.h). */
    static final StructLayout MAP_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("type"), JAVA_INT.withName("id"), JAVA_INT.withName("key_size"),
            JAVA_INT.withName("value_size"), JAVA_INT.withName("max_entries"), JAVA_INT.withName("map_flags"),
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("name"),
            JAVA_INT.withName("ifindex"), JAVA_INT.withName("btf_vmlinux_value_type_id"),
            JAVA_LONG.withName("netns_dev"), JAVA_LONG.withName("netns_ino"),
            JAVA_INT.withName("btf_id"), JAVA_INT.withName("btf_key_type_id"), JAVA_INT.withName("btf_value_type_id"),
            MemoryLayout.paddingLayout(4), JAVA_LONG.withName("map_extra"));
    /** The head of struct bpf_link_info (linux/bpf.h) up to its cgroup member (the union is 8-aligned). */
    static final StructLayout LINK_INFO_CGROUP = MemoryLayout.structLayout(
            JAVA_INT.withName("type"), JAVA_INT.withName("id"), JAVA_INT.withName("prog_id"), MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("cgroup_id"), JAVA_INT.withName("attach_type"), MemoryLayout.paddingLayout(4));
    /** struct btf_type (linux/btf.h); struct btf_member has the same shape (name_off, type, offset). */
    static final StructLayout BTF_TYPE = MemoryLayout.structLayout(
            JAVA_INT.withName("name_off"), JAVA_INT.withName("info"), JAVA_INT.withName("size_or_type"));
    static final StructLayout BTF_MEMBER = MemoryLayout.structLayout(
            JAVA_INT.withName("name_off"), JAVA_INT.withName("type"), JAVA_INT.withName("offset"));

    static long off(StructLayout l, String field) {
        return l.byteOffset(groupElement(field));
    }

    // ---- functions ----
    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor fd, boolean errno,
                                     Linker.Option... extra) {
        MemorySegment sym = lib.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libbpf.so.1/libc: no symbol " + name));
        List<Linker.Option> opts = new ArrayList<>(List.of(extra));
        if (errno) opts.add(Linker.Option.captureCallState("errno"));
        return LINKER.downcallHandle(sym, fd, opts.toArray(Linker.Option[]::new));
    }
    private static MethodHandle bpf(String name, FunctionDescriptor fd) { return bind(LIB, name, fd, true); }
    private static MethodHandle bpfNoErr(String name, FunctionDescriptor fd) { return bind(LIB, name, fd, false); }
    private static MethodHandle c(String name, FunctionDescriptor fd) { return bind(LIBC, name, fd, true); }

    private static FunctionDescriptor i(java.lang.foreign.MemoryLayout... args) { return FunctionDescriptor.of(JAVA_INT, args); }
    private static FunctionDescriptor p(java.lang.foreign.MemoryLayout... args) { return FunctionDescriptor.of(ADDRESS, args); }

    // object
    static final MethodHandle OBJECT_OPEN_FILE = bpf("bpf_object__open_file", p(C_STRING, ADDRESS));
    static final MethodHandle OBJECT_LOAD = bpf("bpf_object__load", i(ADDRESS));
    static final MethodHandle OBJECT_CLOSE = bpfNoErr("bpf_object__close", FunctionDescriptor.ofVoid(ADDRESS));
    static final MethodHandle OBJECT_NEXT_MAP = bpfNoErr("bpf_object__next_map", p(ADDRESS, ADDRESS));
    static final MethodHandle OBJECT_NEXT_PROGRAM = bpfNoErr("bpf_object__next_program", p(ADDRESS, ADDRESS));
    // program
    static final MethodHandle PROGRAM_NAME = bpfNoErr("bpf_program__name", p(ADDRESS));
    static final MethodHandle PROGRAM_FD = bpf("bpf_program__fd", i(ADDRESS));
    static final MethodHandle PROGRAM_SET_LOG_BUF = bpf("bpf_program__set_log_buf", i(ADDRESS, ADDRESS, JAVA_LONG));
    static final MethodHandle PROGRAM_SET_LOG_LEVEL = bpf("bpf_program__set_log_level", i(ADDRESS, JAVA_INT));
    // map (libbpf object view)
    static final MethodHandle MAP_NAME = bpfNoErr("bpf_map__name", p(ADDRESS));
    static final MethodHandle MAP_FD = bpf("bpf_map__fd", i(ADDRESS));
    static final MethodHandle MAP_TYPE = bpfNoErr("bpf_map__type", i(ADDRESS));
    static final MethodHandle MAP_KEY_SIZE = bpfNoErr("bpf_map__key_size", i(ADDRESS));
    static final MethodHandle MAP_VALUE_SIZE = bpfNoErr("bpf_map__value_size", i(ADDRESS));
    static final MethodHandle MAP_MAX_ENTRIES = bpfNoErr("bpf_map__max_entries", i(ADDRESS));
    static final MethodHandle MAP_FLAGS = bpfNoErr("bpf_map__map_flags", i(ADDRESS));
    static final MethodHandle MAP_IS_INTERNAL = bpfNoErr("bpf_map__is_internal", FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_BOOLEAN, ADDRESS));
    static final MethodHandle MAP_SET_PIN_PATH = bpf("bpf_map__set_pin_path", i(ADDRESS, ADDRESS));
    static final MethodHandle MAP_SET_MAX_ENTRIES = bpf("bpf_map__set_max_entries", i(ADDRESS, JAVA_INT));
    // syscall wrappers (bpf.h)
    static final MethodHandle MAP_LOOKUP_ELEM = bpf("bpf_map_lookup_elem", i(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle MAP_UPDATE_ELEM = bpf("bpf_map_update_elem", i(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    static final MethodHandle MAP_DELETE_ELEM = bpf("bpf_map_delete_elem", i(JAVA_INT, ADDRESS));
    static final MethodHandle MAP_GET_NEXT_KEY = bpf("bpf_map_get_next_key", i(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle MAP_LOOKUP_BATCH = bpf("bpf_map_lookup_batch", i(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle MAP_UPDATE_BATCH = bpf("bpf_map_update_batch", i(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle MAP_DELETE_BATCH = bpf("bpf_map_delete_batch", i(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    /** bpf_map_create(type, name, key_size, value_size, max_entries, opts): inner maps of map-in-map. */
    static final MethodHandle MAP_CREATE = bpf("bpf_map_create", i(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle MAP_GET_FD_BY_ID = bpf("bpf_map_get_fd_by_id", i(JAVA_INT));
    static final MethodHandle OBJ_PIN = bpf("bpf_obj_pin", i(JAVA_INT, ADDRESS));
    static final MethodHandle OBJ_GET = bpf("bpf_obj_get", i(ADDRESS));
    static final MethodHandle OBJ_GET_INFO_BY_FD = bpf("bpf_obj_get_info_by_fd", i(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle PROG_TEST_RUN_OPTS = bpf("bpf_prog_test_run_opts", i(JAVA_INT, ADDRESS));
    // cgroup links (bpf.h): bpf_link_create(prog_fd, target_fd, attach_type, opts), bpf_link_update(link_fd, prog_fd, opts),
    // bpf_link_detach(link_fd), bpf_prog_query(target_fd, type, query_flags, *attach_flags, *prog_ids, *prog_cnt)
    static final MethodHandle LINK_CREATE = bpf("bpf_link_create", i(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle LINK_UPDATE = bpf("bpf_link_update", i(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle LINK_DETACH = bpf("bpf_link_detach", i(JAVA_INT));
    static final MethodHandle PROG_QUERY = bpf("bpf_prog_query", i(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle NUM_POSSIBLE_CPUS = bpf("libbpf_num_possible_cpus", i());
    // tc
    static final MethodHandle TC_HOOK_CREATE = bpf("bpf_tc_hook_create", i(ADDRESS));
    static final MethodHandle TC_ATTACH = bpf("bpf_tc_attach", i(ADDRESS, ADDRESS));
    static final MethodHandle TC_DETACH = bpf("bpf_tc_detach", i(ADDRESS, ADDRESS));
    static final MethodHandle TC_QUERY = bpf("bpf_tc_query", i(ADDRESS, ADDRESS));
    // ring buffer
    static final FunctionDescriptor RINGBUF_SAMPLE_FN = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
    static final MethodHandle RING_BUFFER_NEW = bpf("ring_buffer__new", p(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle RING_BUFFER_POLL = bpf("ring_buffer__poll", i(ADDRESS, JAVA_INT));
    static final MethodHandle RING_BUFFER_CONSUME = bpf("ring_buffer__consume", i(ADDRESS));
    static final MethodHandle RING_BUFFER_FREE = bpfNoErr("ring_buffer__free", FunctionDescriptor.ofVoid(ADDRESS));
    // btf
    static final MethodHandle BTF_PARSE_ELF = bpf("btf__parse_elf", p(ADDRESS, ADDRESS));
    static final MethodHandle BTF_FREE = bpfNoErr("btf__free", FunctionDescriptor.ofVoid(ADDRESS));
    static final MethodHandle BTF_TYPE_CNT = bpfNoErr("btf__type_cnt", i(ADDRESS));
    static final MethodHandle BTF_TYPE_BY_ID = bpf("btf__type_by_id", p(ADDRESS, JAVA_INT));
    static final MethodHandle BTF_NAME_BY_OFFSET = bpf("btf__name_by_offset", p(ADDRESS, JAVA_INT));
    static final MethodHandle BTF_FIND_BY_NAME_KIND = bpf("btf__find_by_name_kind", i(ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle BTF_RESOLVE_SIZE = bpfNoErr("btf__resolve_size", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT));
    static final MethodHandle BTF_RESOLVE_TYPE = bpf("btf__resolve_type", i(ADDRESS, JAVA_INT));
    // libbpf logging
    private static final MethodHandle SET_PRINT = bpfNoErr("libbpf_set_print", p(ADDRESS));
    // libc
    static final MethodHandle STRERROR = bind(LIBC, "strerror", p(JAVA_INT), false);
    static final MethodHandle VSNPRINTF = bind(LIBC, "vsnprintf", i(ADDRESS, JAVA_LONG, ADDRESS, ADDRESS), false);
    static final MethodHandle CLOSE = c("close", i(JAVA_INT));
    static final MethodHandle DUP = bind(LIBC, "fcntl", i(JAVA_INT, JAVA_INT, JAVA_INT), true, Linker.Option.firstVariadicArg(2));
    static final int F_DUPFD_CLOEXEC = 1030;
    static final MethodHandle OPEN = bind(LIBC, "open", i(ADDRESS, JAVA_INT, JAVA_INT), true, Linker.Option.firstVariadicArg(2));
    static final MethodHandle SETNS = c("setns", i(JAVA_INT, JAVA_INT));
    static final MethodHandle SOCKET = c("socket", i(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle GETSOCKOPT = c("getsockopt", i(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle MOUNT = c("mount", i(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    static final MethodHandle STATFS = c("statfs", i(ADDRESS, ADDRESS));
    static final MethodHandle IF_NAMETOINDEX = c("if_nametoindex", i(ADDRESS));
    private static final MethodHandle MMAP = c("mmap", p(ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = bind(LIBC, "munmap", i(ADDRESS, JAVA_LONG), false);
    private static final int PROT_READ_WRITE = 0x3, MAP_PRIVATE_ANONYMOUS = 0x22;

    /**
     * {@code size} bytes of private anonymous memory, unmapped when {@code arena} closes. Its pages
     * cost nothing until written, and go back to the system at once: for buffers that are large and
     * rarely written (the verifier log is written only when a load fails). The same size from
     * malloc is zeroed, so resident, and once freed it can stay in glibc's arena for the process'
     * life, beyond malloc_trim's reach (it raises its trim threshold after a large free).
     */
    static MemorySegment anonymous(Arena arena, long size) {
        MemorySegment cs = arena.allocate(CAPTURE);
        MemorySegment p;
        try {
            p = (MemorySegment) MMAP.invokeExact(cs, MemorySegment.NULL, size, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (p.address() == -1L) throw new BpfException("mmap", size + " bytes", errnoOf(-1, cs));
        return p.reinterpret(size, arena, seg -> plain(MUNMAP, seg, size));
    }

    /** Calls a handle bound with errno capture; returns its int result, or -errno when it failed. */
    static int call(MethodHandle mh, Arena arena, Object... args) {
        MemorySegment cs = arena.allocate(CAPTURE);
        Object[] all = new Object[args.length + 1];
        all[0] = cs;
        System.arraycopy(args, 0, all, 1, args.length);
        int r;
        try {
            r = (int) mh.invokeWithArguments(all);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        return r >= 0 ? r : -errnoOf(r, cs);
    }

    // Hot paths (map element operations) avoid invokeWithArguments' boxing with exact invocations.
    static int lookupElem(Arena a, int fd, MemorySegment key, MemorySegment value) {
        MemorySegment cs = a.allocate(CAPTURE);
        try {
            int r = (int) MAP_LOOKUP_ELEM.invokeExact(cs, fd, key, value);
            return r >= 0 ? r : -errnoOf(r, cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int updateElem(Arena a, int fd, MemorySegment key, MemorySegment value, long flags) {
        MemorySegment cs = a.allocate(CAPTURE);
        try {
            int r = (int) MAP_UPDATE_ELEM.invokeExact(cs, fd, key, value, flags);
            return r >= 0 ? r : -errnoOf(r, cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int deleteElem(Arena a, int fd, MemorySegment key) {
        MemorySegment cs = a.allocate(CAPTURE);
        try {
            int r = (int) MAP_DELETE_ELEM.invokeExact(cs, fd, key);
            return r >= 0 ? r : -errnoOf(r, cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int getNextKey(Arena a, int fd, MemorySegment key, MemorySegment next) {
        MemorySegment cs = a.allocate(CAPTURE);
        try {
            int r = (int) MAP_GET_NEXT_KEY.invokeExact(cs, fd, key, next);
            return r >= 0 ? r : -errnoOf(r, cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) return re;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** Like {@link #call} for functions returning a pointer; NULL means failure and {@code errnoOut[0]} is set. */
    static MemorySegment callPtr(MethodHandle mh, Arena arena, int[] errnoOut, Object... args) {
        MemorySegment cs = arena.allocate(CAPTURE);
        Object[] all = new Object[args.length + 1];
        all[0] = cs;
        System.arraycopy(args, 0, all, 1, args.length);
        MemorySegment r;
        try {
            r = (MemorySegment) mh.invokeWithArguments(all);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r.equals(MemorySegment.NULL)) {
            int e = (int) ERRNO.get(cs, 0L);
            errnoOut[0] = e == 0 ? EINVAL : e;
        }
        return r;
    }

    /** libbpf 1.x returns -errno and also sets errno; plain libc returns -1 and sets errno. */
    static int errnoOf(int r, MemorySegment capture) {
        int e = (int) ERRNO.get(capture, 0L);
        if (r == -1) return e != 0 ? e : EPERM;
        return -r;
    }

    /** For handles bound without errno capture. */
    static Object plain(MethodHandle mh, Object... args) {
        try {
            return mh.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static String string(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? null : p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    static String strerror(int errno) {
        if (errno == ENOTSUPP) return "Operation not supported by this map or program type (ENOTSUPP)";
        String s = string((MemorySegment) plain(STRERROR, errno));
        return s == null ? "errno " + errno : s;
    }

    private static int possibleCpus = -1;

    static synchronized int possibleCpus() {
        if (possibleCpus < 0) {
            try (Arena a = Arena.ofConfined()) {
                int n = call(NUM_POSSIBLE_CPUS, a);
                if (n <= 0) throw new BpfException("libbpf", "num_possible_cpus", -n);
                possibleCpus = n;
            }
        }
        return possibleCpus;
    }

    // ---- libbpf's own messages: to SLF4J, and recorded per thread while an operation wants them ----
    private static final ThreadLocal<List<String>> RECORDER = new ThreadLocal<>();

    /** Starts recording libbpf's warnings on this thread; {@link #stopRecording} returns them. */
    static void startRecording() { RECORDER.set(new ArrayList<>()); }

    static List<String> stopRecording() {
        List<String> l = RECORDER.get();
        RECORDER.remove();
        return l == null ? List.of() : l;
    }

    // enum libbpf_print_level { LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG }
    @SuppressWarnings("unused") // upcall target
    private static int print(int level, MemorySegment fmt, MemorySegment args) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4096);
            plain(VSNPRINTF, buf, 4096L, fmt, args);
            String msg = buf.getString(0).stripTrailing();
            // The kernel's extended ack comes with an errno the caller either tolerates (tc hook
            // already there, filter absent on a query) or reports with this text: not a warning by itself.
            boolean extack = msg.contains("Kernel error message:");
            switch (extack ? 2 : level) {
                case 0 -> LIBBPF_LOG.warn("{}", msg);
                case 1 -> LIBBPF_LOG.info("{}", msg);
                default -> LIBBPF_LOG.debug("{}", msg);
            }
            List<String> rec = RECORDER.get();
            if (rec != null && level == 0 && rec.size() < 200) rec.add(msg);
        } catch (Throwable t) {
            // an exception escaping an upcall would crash the JVM; a lost log line is better
        }
        return 0;
    }

    static {
        try {
            MethodHandle target = MethodHandles.lookup().findStatic(Libbpf.class, "print",
                    MethodType.methodType(int.class, int.class, MemorySegment.class, MemorySegment.class));
            MemorySegment stub = LINKER.upcallStub(target, FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), Arena.global());
            plain(SET_PRINT, stub);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
