package io.pgloom.server;

import io.pgloom.proto.FrontendTag;

/**
 * The client requests a server still owes a ReadyForQuery for, in order: Query, Sync and
 * FunctionCall. A ReadyForQuery pops the oldest. When the server enters COPY IN, the Syncs sent
 * after the request that started it are dropped, because PostgreSQL ignores Sync during COPY IN.
 * A small ring of type bytes; guarded by the server's link lock.
 */
public final class RequestQueue {
    private byte[] ring = new byte[8];
    private int head;
    private int size;

    public void add(byte tag) {
        if (size == ring.length) {
            byte[] bigger = new byte[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = ring[(head + i) & (ring.length - 1)];
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + size) & (ring.length - 1)] = tag;
        size++;
    }

    /** Pops the request a ReadyForQuery answers; false if none was outstanding. */
    public boolean popReady() {
        if (size == 0) {
            return false;
        }
        head = (head + 1) & (ring.length - 1);
        size--;
        return true;
    }

    /** COPY IN began: every queued Sync will be ignored by the server, so forget them. */
    public void dropSyncs() {
        int kept = 0;
        byte[] out = new byte[ring.length];
        for (int i = 0; i < size; i++) {
            byte t = ring[(head + i) & (ring.length - 1)];
            if (t != FrontendTag.SYNC) {
                out[kept++] = t;
            }
        }
        ring = out;
        head = 0;
        size = kept;
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public void clear() {
        head = 0;
        size = 0;
    }

    /** The queued tags as text, oldest first ("QSS"), for SHOW FDS and takeover. */
    public String text() {
        StringBuilder b = new StringBuilder(size);
        for (int i = 0; i < size; i++) {
            b.append((char) ring[(head + i) & (ring.length - 1)]);
        }
        return b.toString();
    }
}
