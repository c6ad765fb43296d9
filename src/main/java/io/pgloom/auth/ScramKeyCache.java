package io.pgloom.auth;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Thread-safe: the map and counters are guarded by {@link #lock}. A bounded LRU cache of derived
 * {@link ScramKeys}, keyed by (prepared password, salt, iterations), so repeated logins with a
 * plain-text password do not redo the 4096-HMAC PBKDF2 derivation. It only saves the derivation:
 * callers still verify every proof against the keys.
 *
 * <p>The map key is a keyed HMAC fingerprint of the triple under a per-process random key, so the
 * cache holds no password text and nothing printable reveals it. The derivation runs outside the
 * lock, because PBKDF2 takes milliseconds and must not serialize unrelated logins (two threads
 * missing on the same triple at once both derive it, which is harmless).
 */
final class ScramKeyCache {
    static final int DEFAULT_CAPACITY = 1024;

    /** The process-wide cache used by {@link ScramKeys#derive}. */
    static final ScramKeyCache SHARED = new ScramKeyCache(DEFAULT_CAPACITY);

    private final byte[] fingerprintKey = ScramCrypto.randomBytes(ScramCrypto.KEY_LENGTH);
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, ScramKeys> entries;
    private long hits;
    private long misses;

    ScramKeyCache(int capacity) {
        assert capacity > 0;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, ScramKeys> eldest) {
                return size() > capacity;
            }
        };
    }

    /** Returns the cached keys for the triple, or derives them with {@code derivation} and caches them. */
    ScramKeys get(byte[] preparedPassword, byte[] salt, int iterations, Supplier<ScramKeys> derivation) {
        String fingerprint = fingerprint(preparedPassword, salt, iterations);
        lock.lock();
        try {
            ScramKeys cached = entries.get(fingerprint);
            if (cached != null) {
                hits++;
                return cached;
            }
            misses++;
        } finally {
            lock.unlock();
        }
        ScramKeys derived = derivation.get();
        lock.lock();
        try {
            entries.put(fingerprint, derived);
        } finally {
            lock.unlock();
        }
        return derived;
    }

    int size() {
        lock.lock();
        try {
            return entries.size();
        } finally {
            lock.unlock();
        }
    }

    long hits() {
        lock.lock();
        try {
            return hits;
        } finally {
            lock.unlock();
        }
    }

    long misses() {
        lock.lock();
        try {
            return misses;
        } finally {
            lock.unlock();
        }
    }

    private String fingerprint(byte[] preparedPassword, byte[] salt, int iterations) {
        // Length prefixes keep (password, salt) pairs with the same concatenation apart.
        ByteBuffer buffer = ByteBuffer.allocate(12 + preparedPassword.length + salt.length);
        buffer.putInt(preparedPassword.length).put(preparedPassword);
        buffer.putInt(salt.length).put(salt).putInt(iterations);
        return Base64.getEncoder().encodeToString(ScramCrypto.hmac(fingerprintKey, buffer.array()));
    }
}
