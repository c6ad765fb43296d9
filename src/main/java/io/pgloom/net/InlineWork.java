package io.pgloom.net;

import java.io.IOException;

/**
 * What a connection's work on a poller thread (an inline pass, see
 * {@link io.pgloom.net.epoll.EpollWire}) needs to stop and leave the rest to the connection's own
 * thread: {@link #NEED_THREAD} to stop before a step that could block, and {@link Deferred}
 * work (the rest of a write the socket would not take, or a failure to report) that the thread
 * runs first when it takes over.
 */
public final class InlineWork {
    private InlineWork() {
    }

    /** Thrown inside an inline pass before anything that could block: the thread takes over. */
    public static final class NeedThread extends RuntimeException {
        private NeedThread() {
            super("the connection's thread must take over", null, false, false);
        }
    }

    public static final NeedThread NEED_THREAD = new NeedThread();

    /** Work left for the connection's thread, which may block. */
    @FunctionalInterface
    public interface Deferred {
        void run() throws IOException;
    }

    /** {@code first}, then {@code next}. */
    public static Deferred then(Deferred first, Deferred next) {
        return first == null ? next : () -> {
            first.run();
            next.run();
        };
    }

    /** Rethrows a failure of the inline pass on the connection's thread, where it is handled. */
    public static Deferred failure(Throwable t) {
        return () -> {
            if (t instanceof IOException e) {
                throw e;
            }
            if (t instanceof RuntimeException e) {
                throw e;
            }
            throw (Error) t;
        };
    }
}
