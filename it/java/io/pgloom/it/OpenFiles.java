package io.pgloom.it;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The test JVM's open-files limit (RLIMIT_NOFILE), read and raised with getrlimit/setrlimit
 * through the JDK's foreign-function API (Linux: {@code struct rlimit} is two 64-bit words on
 * x86_64 and aarch64). Processes the tests start afterwards (pgloom) inherit the raised limit.
 *
 * <p>Stateless; the limit is the process's.
 */
final class OpenFiles {

    private static final int RLIMIT_NOFILE = 7;

    private OpenFiles() {
    }

    /** The soft and hard limits; -1 for unlimited or unknown. */
    record Limit(long soft, long hard) {
    }

    static Limit get() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rlimit = arena.allocate(16, 8);
            int rc = (int) handle("getrlimit").invokeExact(RLIMIT_NOFILE, rlimit);
            if (rc != 0) {
                return new Limit(-1, -1);
            }
            return new Limit(word(rlimit, 0), word(rlimit, 8));
        } catch (Throwable t) {
            return new Limit(-1, -1);
        }
    }

    /**
     * Raises the soft limit to at least {@code wanted} if the hard limit allows, and returns the
     * soft limit in force afterwards (-1 when unlimited; the old one when it could not be raised).
     */
    static long raiseSoftLimit(long wanted) {
        Limit now = get();
        if (now.soft() < 0 || now.soft() >= wanted) {
            return now.soft();
        }
        long target = now.hard() < 0 ? wanted : Math.min(wanted, now.hard());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rlimit = arena.allocate(16, 8);
            rlimit.set(ValueLayout.JAVA_LONG, 0, target);
            rlimit.set(ValueLayout.JAVA_LONG, 8, now.hard() < 0 ? -1L : now.hard());
            int rc = (int) handle("setrlimit").invokeExact(RLIMIT_NOFILE, rlimit);
            return rc == 0 ? get().soft() : now.soft();
        } catch (Throwable t) {
            return now.soft();
        }
    }

    private static long word(MemorySegment s, long offset) {
        long v = s.get(ValueLayout.JAVA_LONG, offset);
        return v < 0 ? -1 : v; // RLIM_INFINITY is all ones
    }

    private static MethodHandle handle(String name) {
        Linker linker = Linker.nativeLinker();
        MemorySegment fn = linker.defaultLookup().find(name)
                .orElseThrow(() -> new UnsupportedOperationException(name + " not found"));
        return linker.downcallHandle(fn, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS));
    }
}
