package io.pgloom.pool;

import java.util.function.Consumer;

/**
 * The servers of a pool in one state, oldest first: an intrusive doubly linked list through
 * {@link PoolEntry}'s own links (an entry is in one state, so in one list, at a time), so that
 * moving a server between states on every transaction allocates nothing. Guarded by the pool lock.
 */
final class EntryList implements Iterable<PoolEntry> {
    private PoolEntry head;
    private PoolEntry tail;
    private int size;

    void add(PoolEntry e) {
        e.listPrev = tail;
        e.listNext = null;
        if (tail == null) {
            head = e;
        } else {
            tail.listNext = e;
        }
        tail = e;
        size++;
    }

    void remove(PoolEntry e) {
        if (e.listPrev == null) {
            head = e.listNext;
        } else {
            e.listPrev.listNext = e.listNext;
        }
        if (e.listNext == null) {
            tail = e.listPrev;
        } else {
            e.listNext.listPrev = e.listPrev;
        }
        e.listPrev = null;
        e.listNext = null;
        size--;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    @Override
    public void forEach(Consumer<? super PoolEntry> action) {
        for (PoolEntry e = head; e != null;) {
            PoolEntry next = e.listNext;
            action.accept(e);
            e = next;
        }
    }

    /** For checks and reports; not for removing while iterating. */
    @Override
    public java.util.Iterator<PoolEntry> iterator() {
        return new java.util.Iterator<>() {
            private PoolEntry next = head;

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public PoolEntry next() {
                if (next == null) {
                    throw new java.util.NoSuchElementException();
                }
                PoolEntry e = next;
                next = e.listNext;
                return e;
            }
        };
    }
}
