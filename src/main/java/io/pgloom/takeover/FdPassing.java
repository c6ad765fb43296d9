package io.pgloom.takeover;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.pgloom.net.epoll.EpollWire;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayDeque;

/**
 * Descriptor passing over a unix socket: {@code sendmsg}/{@code recvmsg} with SCM_RIGHTS through
 * {@code java.lang.foreign} (Linux LP64 layouts). The sender attaches exactly one descriptor to
 * the first byte of a message; the receiver collects descriptors in arrival order (a FIFO the
 * caller pairs with rows), sizes its control buffer for the most the kernel may deliver
 * (SCM_MAX_FD = 253) and refuses a truncated one. Both calls are non-blocking and wait through
 * the wire's readiness, so a virtual thread parks instead of pinning its carrier.
 */
public final class FdPassing {
    private FdPassing() {
    }

    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_CTRUNC = 0x8;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int SCM_MAX_FD = 253;
    private static final int MSGHDR_SIZE = 56;
    private static final int CMSG_HEADER = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final java.lang.foreign.StructLayout ERRNO_LAYOUT = Linker.Option.captureStateLayout();
    private static final java.lang.invoke.VarHandle ERRNO_VALUE =
            ERRNO_LAYOUT.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SENDMSG = LINKER.downcallHandle(LINKER.defaultLookup().find("sendmsg").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    private static final MethodHandle RECVMSG = LINKER.downcallHandle(LINKER.defaultLookup().find("recvmsg").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), ERRNO);

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }

    /** Forces the handles to link now, on the calling thread. */
    public static void init() {
        // class initialization does the work
    }

    /**
     * Sends messages with descriptors attached on one wire, with its native buffers allocated
     * once (SHOW FDS makes one {@code sendmsg} per socket, or per batch of sockets). Confined to
     * the thread that created it.
     */
    public static final class Sender implements AutoCloseable {
        /** The most descriptors one {@code sendmsg} may carry (the kernel's SCM_MAX_FD). */
        public static final int MAX_FDS = SCM_MAX_FD;

        private final EpollWire wire;
        private final Arena arena = Arena.ofConfined();
        private final MemorySegment iov = arena.allocate(16, 8);
        private final MemorySegment control = arena.allocate(CMSG_HEADER + align8(4L * SCM_MAX_FD), 8);
        private final MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
        private final MemorySegment errno = arena.allocate(ERRNO_LAYOUT);
        private MemorySegment buf = arena.allocate(4096);

        public Sender(EpollWire wire) {
            this.wire = wire;
        }

        /** Sends {@code data} with {@code fd} attached to its first byte. */
        public void send(byte[] data, int fd) throws IOException {
            send(data, data.length, new int[] {fd}, 1);
        }

        /**
         * Sends {@code data[0..length)} with {@code fds[0..fdCount)} attached to its first byte;
         * the rest of a partial send goes without control data.
         */
        public void send(byte[] data, int length, int[] fds, int fdCount) throws IOException {
            if (fdCount < 1 || fdCount > MAX_FDS) {
                throw new IllegalArgumentException("descriptors per message: " + fdCount);
            }
            if (buf.byteSize() < length) {
                buf = arena.allocate(Math.max(length, buf.byteSize() * 2));
            }
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, length);
            long controlLength = CMSG_HEADER + 4L * fdCount;
            control.set(JAVA_LONG, 0, controlLength);
            control.set(JAVA_INT, 8, SOL_SOCKET);
            control.set(JAVA_INT, 12, SCM_RIGHTS);
            for (int i = 0; i < fdCount; i++) {
                control.set(JAVA_INT, CMSG_HEADER + 4L * i, fds[i]);
            }
            long sent = 0;
            boolean withFds = true;
            while (sent < length) {
                iov.set(ADDRESS, 0, buf.asSlice(sent));
                iov.set(JAVA_LONG, 8, length - sent);
                msg.fill((byte) 0);
                msg.set(ADDRESS, 16, iov);
                msg.set(JAVA_LONG, 24, 1);
                if (withFds) {
                    msg.set(ADDRESS, 32, control);
                    msg.set(JAVA_LONG, 40, align8(controlLength));
                }
                long n = wire.writeRaw(s -> invoke(SENDMSG, errno, s, msg, MSG_NOSIGNAL | MSG_DONTWAIT));
                if (n > 0) {
                    withFds = false;
                    sent += n;
                }
            }
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /**
     * Receives bytes and descriptors on one wire with its native buffers allocated once: Linux
     * ends a {@code recvmsg} at each message that carries descriptors, so SHOW FDS takes one call
     * per socket. A {@link io.pgloom.proto.ByteSource}, so a {@link io.pgloom.proto.MessageStream}
     * can frame what arrives. Confined to the thread that created it.
     */
    public static final class Receiver implements io.pgloom.proto.ByteSource, AutoCloseable {
        private static final int CAPACITY = 64 * 1024;

        private final EpollWire wire;
        private final ArrayDeque<Integer> fds;
        private final Arena arena = Arena.ofConfined();
        private final MemorySegment buf = arena.allocate(CAPACITY);
        private final long controlSize = CMSG_HEADER + align8(4L * SCM_MAX_FD);
        private final MemorySegment control = arena.allocate(controlSize, 8);
        private final MemorySegment iov = arena.allocate(16, 8);
        private final MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
        private final MemorySegment errno = arena.allocate(ERRNO_LAYOUT);

        /** @param fds where received descriptors go, in arrival order */
        public Receiver(EpollWire wire, ArrayDeque<Integer> fds) {
            this.wire = wire;
            this.fds = fds;
            iov.set(ADDRESS, 0, buf);
        }

        /** One {@code recvmsg} into {@code b[off..off+len)}; -1 at end of stream. */
        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int want = Math.min(len, CAPACITY);
            iov.set(JAVA_LONG, 8, want);
            msg.fill((byte) 0);
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1);
            msg.set(ADDRESS, 32, control);
            msg.set(JAVA_LONG, 40, controlSize);
            long n = wire.readRaw(s -> invoke(RECVMSG, errno, s, msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
            int flags = msg.get(JAVA_INT, 48);
            collectFds(control, msg.get(JAVA_LONG, 40), fds);
            if ((flags & MSG_CTRUNC) != 0) {
                throw new IOException("descriptors were lost in transit (MSG_CTRUNC)");
            }
            if (n == 0) {
                return -1;
            }
            MemorySegment.copy(buf, JAVA_BYTE, 0, b, off, (int) n);
            return (int) n;
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    private static void collectFds(MemorySegment control, long length, ArrayDeque<Integer> fds) {
        long pos = 0;
        while (pos + CMSG_HEADER <= length) {
            long len = control.get(JAVA_LONG, pos);
            int level = control.get(JAVA_INT, pos + 8);
            int type = control.get(JAVA_INT, pos + 12);
            if (len < CMSG_HEADER) {
                break;
            }
            if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                for (long p = pos + CMSG_HEADER; p + 4 <= pos + len; p += 4) {
                    fds.addLast(control.get(JAVA_INT, p));
                }
            }
            pos += align8(len);
        }
    }

    /** The call's result, or minus errno. */
    private static long invoke(MethodHandle h, MemorySegment errno, int fd, MemorySegment msg, int flags) {
        try {
            long n = (long) h.invokeExact(errno, fd, msg, flags);
            return n >= 0 ? n : -(int) ERRNO_VALUE.get(errno, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed", t);
        }
    }
}
