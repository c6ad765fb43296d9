package io.pgloom.prepared;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The statements one server has prepared, least recently used first, at most
 * {@code max_prepared_statements}. Used by the client thread that has the server (to decide
 * whether a Parse must be sent) and by the server thread (a failed Parse, DEALLOCATE ALL).
 * Thread-safe.
 */
public final class ServerStatements {
    private final StatementRegistry registry;
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedHashMap<Statement, Boolean> lru = new LinkedHashMap<>(16, 0.75f, true);

    public ServerStatements(StatementRegistry registry) {
        this.registry = registry;
    }

    /** Whether the server has it; counts as a use for the LRU order. */
    public boolean has(Statement s) {
        lock.lock();
        try {
            return lru.get(s) != null;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records that a Parse of it is being sent; returns the statements to Close on the server so
     * at most {@code max} remain (least recently used first).
     */
    public List<Statement> add(Statement s, int max) {
        List<Statement> evicted = List.of();
        lock.lock();
        try {
            if (lru.putIfAbsent(s, Boolean.TRUE) == null) {
                registry.retain(s);
            }
            if (lru.size() > max) {
                evicted = new ArrayList<>();
                Iterator<Statement> it = lru.keySet().iterator();
                while (lru.size() > max && it.hasNext()) {
                    Statement old = it.next();
                    if (old != s) {
                        it.remove();
                        evicted.add(old);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        for (Statement old : evicted) {
            registry.release(old);
        }
        return evicted;
    }

    /** A statement a taken-over server already has (its id and name came from the old process). */
    public void adopt(Statement s) {
        lock.lock();
        try {
            if (lru.putIfAbsent(s, Boolean.TRUE) == null) {
                registry.retain(s);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The server does not have it after all (its Parse failed). */
    public void remove(Statement s) {
        boolean removed;
        lock.lock();
        try {
            removed = lru.remove(s) != null;
        } finally {
            lock.unlock();
        }
        if (removed) {
            registry.release(s);
        }
    }

    /** DEALLOCATE ALL, DISCARD ALL, or the server is gone. */
    public void clear() {
        List<Statement> all;
        lock.lock();
        try {
            all = new ArrayList<>(lru.keySet());
            lru.clear();
        } finally {
            lock.unlock();
        }
        for (Statement s : all) {
            registry.release(s);
        }
    }

    public int size() {
        lock.lock();
        try {
            return lru.size();
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot, least recently used first (takeover). */
    public List<Statement> list() {
        lock.lock();
        try {
            return new ArrayList<>(lru.keySet());
        } finally {
            lock.unlock();
        }
    }
}
