package io.pgloom.prepared;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Every distinct prepared statement in use, by its Parse body, so that clients preparing the same
 * text share one server-side statement per server. Entries are reference-counted by the client and
 * server maps that hold them and removed when the last one lets go. Thread-safe.
 */
public final class StatementRegistry {
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<Key, Statement> byBody = new HashMap<>();
    private final AtomicLong ids = new AtomicLong();

    /** A Parse body, and for SQL {@code PREPARE} its types text (null for a protocol Parse). */
    private record Key(byte[] body, byte[] types, int hash) {
        Key(byte[] body, byte[] types) {
            this(body, types, java.util.Arrays.hashCode(body) * 31 + (types == null ? 0 : 1 + java.util.Arrays.hashCode(types)));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.hash == hash && java.util.Arrays.equals(k.body, body)
                    && java.util.Arrays.equals(k.types, types);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** The statement for this Parse body, with one more reference taken for the caller. */
    public Statement acquire(byte[] body) {
        return acquire(body, null);
    }

    /**
     * The statement of a SQL {@code PREPARE} with these types (as written, possibly empty) and
     * this text, with one more reference taken for the caller.
     */
    public Statement acquireSql(byte[] types, byte[] query) {
        byte[] body = java.util.Arrays.copyOf(query, query.length + 3); // NUL, then no parameter types
        return acquire(body, types);
    }

    private Statement acquire(byte[] body, byte[] types) {
        Key key = new Key(body, types);
        lock.lock();
        try {
            Statement s = byBody.get(key);
            if (s == null) {
                s = new Statement(ids.incrementAndGet(), body, types);
                byBody.put(key, s);
            }
            s.refs.incrementAndGet();
            return s;
        } finally {
            lock.unlock();
        }
    }

    /** Takes another reference to a statement already held. */
    public void retain(Statement s) {
        s.refs.incrementAndGet();
    }

    /** Drops one reference; the statement is forgotten with the last one. */
    public void release(Statement s) {
        if (s.refs.decrementAndGet() == 0) {
            lock.lock();
            try {
                if (s.refs.get() == 0) {
                    byBody.remove(new Key(s.body(), s.sqlTypes()), s);
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * The statement a server of another process knows as {@code PGLOOM_<id>} (takeover): reuses the
     * id when the body is new here, and makes sure new ids come after it.
     */
    public Statement adopt(byte[] body, byte[] types, long id) {
        Key key = new Key(body, types);
        lock.lock();
        try {
            Statement s = byBody.get(key);
            if (s == null) {
                s = new Statement(id, body, types);
                byBody.put(key, s);
            }
            ids.accumulateAndGet(id, Math::max);
            s.refs.incrementAndGet();
            return s;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A server reported {@code cached plan must not change result type} for this statement (a
     * table it reads changed shape): every later Bind or Describe of it uses a fresh statement
     * under a new name, which each server parses anew, so the next execution succeeds wherever it
     * lands. The old one stays until its references go.
     */
    public Statement replace(Statement stale) {
        Key key = new Key(stale.body(), stale.sqlTypes());
        lock.lock();
        try {
            if (stale.replaced()) {
                return stale.current();
            }
            Statement fresh = new Statement(ids.incrementAndGet(), stale.body(), stale.sqlTypes());
            fresh.refs.incrementAndGet();
            stale.replaceWith(fresh);
            byBody.put(key, fresh);
            return fresh;
        } finally {
            lock.unlock();
        }
    }

    public int size() {
        lock.lock();
        try {
            return byBody.size();
        } finally {
            lock.unlock();
        }
    }
}
