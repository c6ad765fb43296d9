package io.pgloom.server;

import io.pgloom.proto.ErrorFields;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * A query the pooler runs on a server for itself (SET of tracked parameters, the check query,
 * the reset query, connect_query): its results are swallowed by the server's thread, which
 * completes it at the ReadyForQuery. The requester either waits ({@link #await}) or gets a
 * callback on the server's thread.
 */
public final class InternalQuery {
    final String sql;
    private final Consumer<InternalQuery> onDone;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile ErrorFields error;
    private volatile String failure;

    InternalQuery(String sql, Consumer<InternalQuery> onDone) {
        this.sql = sql;
        this.onDone = onDone;
    }

    void recordError(ErrorFields e) {
        if (error == null) {
            error = e;
        }
    }

    void complete(String failureReason) {
        if (failureReason != null && failure == null) {
            failure = failureReason;
        }
        if (done.getCount() > 0) {
            done.countDown();
            if (onDone != null) {
                onDone.accept(this);
            }
        }
    }

    /** Waits for the result; true when the query succeeded. */
    public boolean await() {
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return succeeded();
    }

    public boolean succeeded() {
        return failure == null && error == null;
    }

    public ErrorFields error() {
        return error;
    }

    /** Why it failed, for logs. */
    public String failureText() {
        return failure != null ? failure : error != null ? error.toString() : null;
    }

    public String sql() {
        return sql;
    }
}
