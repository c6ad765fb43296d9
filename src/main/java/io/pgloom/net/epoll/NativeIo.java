package io.pgloom.net.epoll;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The libc calls of the native transport, through {@code java.lang.foreign}. Every call that can
 * fail captures errno into a caller-supplied segment ({@link #newErrno}). recv/send are linked as
 * critical with heap access, so they read and write Java byte arrays directly. Nothing here
 * blocks except {@link #epollWait}, which only the poller's platform thread calls.
 * Initialized eagerly at startup (slow class initialization would pin a virtual thread).
 */
public final class NativeIo {
    private NativeIo() {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPTION = Linker.Option.captureCallState("errno");

    private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = handle("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = handle("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 =
            handle("accept4", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = handle("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECV = LINKER.downcallHandle(find("recv"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO_OPTION, Linker.Option.critical(true));
    private static final MethodHandle SEND = LINKER.downcallHandle(find("send"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO_OPTION, Linker.Option.critical(true));
    private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SHUTDOWN = handle("shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = LINKER.downcallHandle(find("setsockopt"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ERRNO_OPTION,
            Linker.Option.critical(true));
    /** Option values most calls set, shared (setsockopt only reads them). */
    private static final MemorySegment INT_ZERO = MemorySegment.ofArray(new int[] {0});
    private static final MemorySegment INT_ONE = MemorySegment.ofArray(new int[] {1});
    private static final MethodHandle GETSOCKOPT =
            handle("getsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETSOCKNAME = handle("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETPEERNAME = handle("getpeername", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle EPOLL_CREATE1 = handle("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CTL =
            handle("epoll_ctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle EPOLL_WAIT = LINKER.downcallHandle(find("epoll_wait"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), ERRNO_OPTION);
    private static final MethodHandle GETUID = LINKER.downcallHandle(find("getuid"), FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETPWUID_R = LINKER.downcallHandle(find("getpwuid_r"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle FCNTL = LINKER.downcallHandle(find("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_OPTION, Linker.Option.firstVariadicArg(2));

    private static MemorySegment find(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError(name));
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(find(name), fd, ERRNO_OPTION);
    }

    /** Forces the handles to link now, on the calling (platform) thread. */
    public static void init() {
        // class initialization above does the work
    }

    /** A segment to receive errno, for one thread of use at a time. */
    public static MemorySegment newErrno(Arena arena) {
        return arena.allocate(CAPTURE);
    }

    public static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    static int socket(MemorySegment e, int domain, int type) {
        try {
            return (int) SOCKET.invokeExact(e, domain, type, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int bind(MemorySegment e, int fd, MemorySegment addr, int len) {
        try {
            return (int) BIND.invokeExact(e, fd, addr, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int listen(MemorySegment e, int fd, int backlog) {
        try {
            return (int) LISTEN.invokeExact(e, fd, backlog);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int accept4(MemorySegment e, int fd, MemorySegment addr, MemorySegment lenPtr, int flags) {
        try {
            return (int) ACCEPT4.invokeExact(e, fd, addr, lenPtr, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int connect(MemorySegment e, int fd, MemorySegment addr, int len) {
        try {
            return (int) CONNECT.invokeExact(e, fd, addr, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long recv(MemorySegment e, int fd, byte[] b, int off, int len, int flags) {
        try {
            return (long) RECV.invokeExact(e, fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** recv into native memory: nothing is allocated. */
    static long recv(MemorySegment e, int fd, MemorySegment buf, int len) {
        try {
            return (long) RECV.invokeExact(e, fd, buf, (long) len, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** send from native memory: nothing is allocated. */
    static long send(MemorySegment e, int fd, MemorySegment buf, int len) {
        try {
            return (long) SEND.invokeExact(e, fd, buf, (long) len, Linux.MSG_NOSIGNAL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long send(MemorySegment e, int fd, byte[] b, int off, int len) {
        try {
            return (long) SEND.invokeExact(e, fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len, Linux.MSG_NOSIGNAL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int close(int fd) {
        try (Arena a = Arena.ofConfined()) {
            return (int) CLOSE.invokeExact(newErrno(a), fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int shutdown(int fd, int how) {
        try (Arena a = Arena.ofConfined()) {
            return (int) SHUTDOWN.invokeExact(newErrno(a), fd, how);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** setsockopt of an int option (a critical call: {@code e} may be a heap segment). */
    static int setsockopt(MemorySegment e, int fd, int level, int name, int value) {
        MemorySegment v = value == 1 ? INT_ONE : value == 0 ? INT_ZERO : MemorySegment.ofArray(new int[] {value});
        try {
            return (int) SETSOCKOPT.invokeExact(e, fd, level, name, v, 4);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** getsockopt into {@code out}; returns the call's result. */
    static int getsockopt(MemorySegment e, int fd, int level, int name, MemorySegment out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, (int) out.byteSize());
            return (int) GETSOCKOPT.invokeExact(e, fd, level, name, out, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int getsockname(MemorySegment e, int fd, MemorySegment addr, MemorySegment lenPtr) {
        try {
            return (int) GETSOCKNAME.invokeExact(e, fd, addr, lenPtr);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int getpeername(MemorySegment e, int fd, MemorySegment addr, MemorySegment lenPtr) {
        try {
            return (int) GETPEERNAME.invokeExact(e, fd, addr, lenPtr);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int epollCreate() {
        try (Arena a = Arena.ofConfined()) {
            return (int) EPOLL_CREATE1.invokeExact(newErrno(a), Linux.EPOLL_CLOEXEC);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int epollCtl(MemorySegment e, int epfd, int op, int fd, MemorySegment event) {
        try {
            return (int) EPOLL_CTL.invokeExact(e, epfd, op, fd, event);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int epollWait(MemorySegment e, int epfd, MemorySegment events, int max, int timeoutMillis) {
        try {
            return (int) EPOLL_WAIT.invokeExact(e, epfd, events, max, timeoutMillis);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int getuid() {
        try {
            return (int) GETUID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The user name of {@code uid} from the user database (getpwuid_r), or null when there is
     * none. Only {@code pw_name}, the first field of {@code struct passwd}, is read, so the rest
     * of the struct's layout does not matter; 64 bytes cover it on every LP64 Linux.
     */
    static String userName(int uid) {
        long size = 16 * 1024;
        while (size <= 1 << 20) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment pwd = a.allocate(64, 8);
                MemorySegment buf = a.allocate(size);
                MemorySegment result = a.allocate(ADDRESS);
                int rc = (int) GETPWUID_R.invokeExact(uid, pwd, buf, size, result);
                if (rc == Linux.ERANGE) {
                    size *= 2;
                    continue;
                }
                if (rc != 0 || result.get(ADDRESS, 0).equals(MemorySegment.NULL)) {
                    return null;
                }
                return pwd.get(ADDRESS, 0).reinterpret(Linux.LOGIN_NAME_MAX).getString(0);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
        return null;
    }

    static int fcntl(MemorySegment e, int fd, int cmd, int arg) {
        try {
            return (int) FCNTL.invokeExact(e, fd, cmd, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error err) {
            throw err;
        }
        throw new IllegalStateException("native call failed", t);
    }
}
