package io.pgloom.client;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Failed logins per client source, for {@code client_login_failure_limit}: an IPv4 address, or
 * the /64 network of an IPv6 address (one host or site usually owns a whole /64, so counting its
 * addresses one by one would let it try 2^64 times as often). A source that
 * fails {@code limit} times within {@code window} is blocked for {@code window} from that
 * failure on. Refused logins of a blocked address do not count (they are not attempts). A
 * successful login does not clear the count, so one known password cannot keep a guessing client
 * going. Entries whose window is over are dropped by {@link #expire}, which the janitor calls,
 * so the map holds only the addresses that failed within the last window, and at most
 * {@code client_login_failure_sources} of them. Thread-safe: entries are immutable and replaced
 * atomically (the cap is checked before adding, so a race may pass it by a few entries).
 */
public final class LoginFailures {
    /** Failures counted since {@code firstNanos}; {@code blocked} until {@code blockedUntilNanos}. */
    private record Entry(long firstNanos, int count, boolean blocked, long blockedUntilNanos) {
        boolean blockedAt(long now) {
            return blocked && now - blockedUntilNanos < 0;
        }

        boolean countingAt(long now, long windowNanos) {
            return count > 0 && now - firstNanos <= windowNanos;
        }
    }

    private final ConcurrentHashMap<InetAddress, Entry> byAddress = new ConcurrentHashMap<>();

    /** The source an address is counted as: itself (IPv4), or its /64 network (IPv6). */
    public static InetAddress source(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address;
        }
        byte[] b = address.getAddress();
        java.util.Arrays.fill(b, 8, 16, (byte) 0);
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("16 bytes are an IPv6 address", e);
        }
    }

    /** The source for the log: {@code 192.0.2.1}, or {@code 2001:db8:0:0:0:0:0:0/64}. */
    public static String describe(InetAddress source) {
        return source instanceof Inet6Address ? source.getHostAddress() + "/64" : source.getHostAddress();
    }

    /** Whether logins from {@code address} are refused now. */
    public boolean blocked(InetAddress address, long now) {
        Entry e = byAddress.get(address);
        return e != null && e.blockedAt(now);
    }

    /**
     * Counts one failed login; returns true when this failure blocks the address (for the log).
     * A source not tracked yet is not counted while {@code maxSources} are (a flood from many
     * sources cannot grow the map without bound; it fails open, since refusing every new source
     * would lock everybody out).
     *
     * @param limit failures within the window that block; 0 counts nothing
     */
    public boolean failed(InetAddress address, long now, int limit, long windowNanos, int maxSources) {
        if (limit <= 0 || (byAddress.size() >= maxSources && !byAddress.containsKey(address))) {
            return false;
        }
        Entry after = byAddress.compute(address, (a, e) -> {
            boolean blocked = e != null && e.blockedAt(now);
            long blockedUntil = e == null ? 0 : e.blockedUntilNanos();
            Entry counting = e != null && e.countingAt(now, windowNanos) ? e : new Entry(now, 0, blocked, blockedUntil);
            int count = counting.count() + 1;
            if (count >= limit) {
                return new Entry(now, 0, true, now + windowNanos);
            }
            return new Entry(counting.firstNanos(), count, blocked, blockedUntil);
        });
        return after.count() == 0 && after.blockedUntilNanos() == now + windowNanos;
    }

    /** Forgets the addresses that are neither blocked nor have failures within the window. */
    public void expire(long now, long windowNanos) {
        byAddress.entrySet().removeIf(en -> !en.getValue().blockedAt(now) && !en.getValue().countingAt(now, windowNanos));
    }

    /** Addresses tracked now. */
    public int size() {
        return byAddress.size();
    }
}
