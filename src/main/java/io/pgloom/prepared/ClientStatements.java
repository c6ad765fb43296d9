package io.pgloom.prepared;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A client's own statement names and the statements they stand for. Used by the client's thread,
 * and by the server thread when the client's DEALLOCATE ALL / DISCARD ALL completes or its Parse
 * fails. Thread-safe.
 */
public final class ClientStatements {
    private final StatementRegistry registry;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Statement> byName = new HashMap<>();

    public ClientStatements(StatementRegistry registry) {
        this.registry = registry;
    }

    public Statement get(String name) {
        lock.lock();
        try {
            return byName.get(name);
        } finally {
            lock.unlock();
        }
    }

    /** False when the name is taken already. The statement's reference passes to this map. */
    public boolean put(String name, Statement s) {
        lock.lock();
        try {
            return byName.putIfAbsent(name, s) == null;
        } finally {
            lock.unlock();
        }
    }

    /** Forgets a name (Close, or its Parse failed). */
    public void remove(String name, Statement expected) {
        Statement s;
        lock.lock();
        try {
            s = byName.get(name);
            if (s == null || (expected != null && s != expected)) {
                return;
            }
            byName.remove(name);
        } finally {
            lock.unlock();
        }
        registry.release(s);
    }

    public void clear() {
        List<Statement> all;
        lock.lock();
        try {
            all = new ArrayList<>(byName.values());
            byName.clear();
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
            return byName.size();
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot (takeover). */
    public Map<String, Statement> snapshot() {
        lock.lock();
        try {
            return new HashMap<>(byName);
        } finally {
            lock.unlock();
        }
    }
}
