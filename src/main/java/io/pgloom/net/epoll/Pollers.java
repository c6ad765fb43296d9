package io.pgloom.net.epoll;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The transport's pollers, one per two processors by default, so that work done on poller
 * threads (see {@link EpollWire#awaitReadable}) can use several cores. New sockets are spread
 * round-robin; listening sockets stay on the first. Thread-safe.
 */
final class Pollers {
    private final Poller[] all;
    private final AtomicInteger next = new AtomicInteger();

    Pollers(int count) throws IOException {
        all = new Poller[Math.max(1, count)];
        for (int i = 0; i < all.length; i++) {
            all[i] = new Poller(all.length == 1 ? "pgloom-epoll" : "pgloom-epoll-" + (i + 1));
        }
    }

    Poller first() {
        return all[0];
    }

    /** The poller for a new connection. */
    Poller next() {
        return all[Math.floorMod(next.getAndIncrement(), all.length)];
    }

    int size() {
        return all.length;
    }
}
