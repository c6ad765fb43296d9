package io.pgloom.server;

import io.pgloom.proto.FrontendTag;

/**
 * The client messages a server still owes a response for, in order: Parse, Bind, Describe,
 * Execute, Close, Sync, Query and FunctionCall. An entry may be {@link #FAKE} (the pooler answers
 * it itself: a Parse of a statement the server already has, a Close of a client's name) or
 * {@link #HIDDEN} (the pooler sent it and swallows the answer: a Parse before a Bind on a server
 * lacking the statement, a Close of an evicted statement). ReadyForQuery pops everything up to the
 * Sync, Query or FunctionCall it answers. When the server enters COPY IN, queued Syncs are dropped,
 * because PostgreSQL ignores Sync during COPY IN. A ring of ints (tag | flags); guarded by the
 * server's link lock.
 */
public final class RequestQueue {
    public static final int FAKE = 1 << 8;
    public static final int HIDDEN = 2 << 8;
    /** A Parse of a client's named statement: if it fails, the statement bookkeeping is undone. */
    public static final int NAMED = 4 << 8;
    private static final int FLAGS = FAKE | HIDDEN | NAMED;

    private int[] ring = new int[16];
    private Object[] refs = new Object[16];
    private Object lastRef;
    private int head;
    private int size;
    private int special;

    /** The ref of the oldest entry whose ref is of that type, or null. */
    public <T> T firstRef(Class<T> type) {
        for (int i = 0; i < size; i++) {
            Object r = refs[(head + i) & (ring.length - 1)];
            if (type.isInstance(r)) {
                return type.cast(r);
            }
        }
        return null;
    }

    /** What the oldest entry refers to, or null. */
    public Object headRef() {
        return size == 0 ? null : refs[head];
    }

    /** What the entry last popped referred to, or null. */
    public Object lastRef() {
        return lastRef;
    }

    public static boolean isNamed(int entry) {
        return entry >= 0 && (entry & NAMED) != 0;
    }

    public static byte tag(int entry) {
        return (byte) entry;
    }

    public static boolean isFake(int entry) {
        return entry >= 0 && (entry & FAKE) != 0;
    }

    public static boolean isHidden(int entry) {
        return entry >= 0 && (entry & HIDDEN) != 0;
    }

    public void add(int entry) {
        add(entry, null);
    }

    /** Adds an entry with what it refers to (see {@link #lastRef()}). */
    public void add(int entry, Object ref) {
        if (size == ring.length) {
            int[] bigger = new int[ring.length * 2];
            Object[] biggerRefs = new Object[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = ring[(head + i) & (ring.length - 1)];
                biggerRefs[i] = refs[(head + i) & (ring.length - 1)];
            }
            ring = bigger;
            refs = biggerRefs;
            head = 0;
        }
        ring[(head + size) & (ring.length - 1)] = entry;
        refs[(head + size) & (ring.length - 1)] = ref;
        size++;
        if ((entry & FLAGS) != 0) {
            special++;
        }
    }

    /** The oldest entry, or -1 when none. */
    public int head() {
        return size == 0 ? -1 : ring[head];
    }

    /** Removes the oldest entry and returns it (-1 when none). */
    public int pop() {
        if (size == 0) {
            return -1;
        }
        int e = ring[head];
        lastRef = refs[head];
        refs[head] = null;
        head = (head + 1) & (ring.length - 1);
        size--;
        if ((e & FLAGS) != 0) {
            special--;
        }
        return e;
    }

    private static boolean syncPoint(int entry) {
        byte t = tag(entry);
        return t == FrontendTag.SYNC || t == FrontendTag.QUERY || t == FrontendTag.FUNCTION_CALL;
    }

    /** A ReadyForQuery arrived: pops through the Sync, Query or FunctionCall it answers. */
    public boolean popReady() {
        while (size > 0) {
            if (syncPoint(pop())) {
                return true;
            }
        }
        return false;
    }

    /**
     * An ErrorResponse in the extended protocol: PostgreSQL skips everything up to the next Sync,
     * so those entries get no answer (and fake ones must not be answered either).
     */
    public void dropUntilSync() {
        while (size > 0 && !syncPoint(ring[head])) {
            pop();
        }
    }

    /** COPY IN began: every queued Sync will be ignored by the server, so forget them. */
    public void dropSyncs() {
        int[] out = new int[ring.length];
        Object[] outRefs = new Object[ring.length];
        int kept = 0;
        int keptSpecial = 0;
        for (int i = 0; i < size; i++) {
            int e = ring[(head + i) & (ring.length - 1)];
            if (tag(e) != FrontendTag.SYNC) {
                outRefs[kept] = refs[(head + i) & (ring.length - 1)];
                out[kept++] = e;
                if ((e & FLAGS) != 0) {
                    keptSpecial++;
                }
            }
        }
        ring = out;
        refs = outRefs;
        head = 0;
        size = kept;
        special = keptSpecial;
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Whether any entry is fake or hidden (then every response must be matched to its entry). */
    public boolean hasSpecial() {
        return special > 0;
    }

    public void clear() {
        java.util.Arrays.fill(refs, null);
        head = 0;
        size = 0;
        special = 0;
    }

    /** The entries as text, oldest first: the tag, then 'f' for fake or 'h' for hidden ("Q", "Pf", "S"). */
    public String text() {
        StringBuilder b = new StringBuilder(size * 2);
        for (int i = 0; i < size; i++) {
            int e = ring[(head + i) & (ring.length - 1)];
            b.append((char) tag(e));
            if (isFake(e)) {
                b.append('f');
            } else if (isHidden(e)) {
                b.append('h');
            } else if (isNamed(e)) {
                b.append('n');
            }
        }
        return b.toString();
    }

    /** Rebuilds entries from {@link #text()} (takeover). */
    public void addText(String text) {
        for (int i = 0; i < text.length(); i++) {
            int e = text.charAt(i) & 0xff;
            char next = i + 1 < text.length() ? text.charAt(i + 1) : 0;
            if (next == 'f' || next == 'h' || next == 'n') {
                e |= next == 'f' ? FAKE : next == 'h' ? HIDDEN : NAMED;
                i++;
            }
            add(e);
        }
    }
}
