package io.pgloom.server;

import io.pgloom.auth.AuthQueryAnswer;
import io.pgloom.proto.FrontendTag;
import io.pgloom.proto.MessageBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Runs auth_query for one user name on a server the pool lent for it, as PgBouncer does: the
 * extended protocol (Parse of the query, Bind with the name as its only text parameter, so the name
 * is never SQL text, Describe, Execute, Sync), and nothing else. In particular none of the
 * connecting client's tracked parameters (search_path, ...) is SET on this server first
 * (CVE-2025-12819): the client is not logged in yet, and its settings must not steer the lookup
 * of its own secret. The server is this object's linked client meanwhile; the answer is read on
 * the server's thread into an {@link AuthQueryAnswer} and the caller waits for it. Afterwards
 * the server goes back to the pool, or is closed when the answer did not arrive in time.
 */
public final class AuthQuery implements LinkedClient {
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int[] ENTRIES = {
        FrontendTag.PARSE, FrontendTag.BIND, FrontendTag.DESCRIBE, FrontendTag.EXECUTE, FrontendTag.SYNC
    };

    private final long id;
    private final String logPrefix;
    private final AuthQueryAnswer answer;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile String failure;

    /**
     * @param id the id of the client being looked up (SHOW SERVERS link)
     * @param logPrefix that client's log prefix
     * @param answerLimit the largest answer accepted (max_packet_size)
     */
    public AuthQuery(long id, String logPrefix, int answerLimit) {
        this.id = id;
        this.logPrefix = logPrefix;
        this.answer = new AuthQueryAnswer(answerLimit);
    }

    /**
     * Runs {@code sql} with {@code $1 = userName} on {@code server} and returns the outcome. Waits
     * until {@code deadlineNanos} (of {@code clock}), and no longer once {@code abandoned} says so
     * (the client was closed meanwhile).
     */
    public AuthQueryAnswer.Result run(ServerConnection server, String sql, String userName, long deadlineNanos,
            java.util.function.LongSupplier clock, BooleanSupplier abandoned) {
        server.link(this);
        try {
            byte[] request = request(sql, userName);
            if (!server.enqueue(this, ENTRIES, null, ENTRIES.length, clock.getAsLong())) {
                return new AuthQueryAnswer.Failed("auth_query server was taken back");
            }
            try {
                server.sendFromClient(request, 0, request.length);
            } catch (IOException e) {
                server.close("server conn crashed?");
                return new AuthQueryAnswer.Failed("auth_query server connection failed");
            }
            if (!await(deadlineNanos, clock, abandoned)) {
                server.close("auth_query timed out");
                return new AuthQueryAnswer.Failed(abandoned.getAsBoolean() ? "client closed during auth_query"
                        : "auth_query timed out");
            }
            if (failure != null) {
                return new AuthQueryAnswer.Failed("auth_query server connection failed: " + failure);
            }
            return answer.result();
        } finally {
            server.clientGone(this);
        }
    }

    private boolean await(long deadlineNanos, java.util.function.LongSupplier clock, BooleanSupplier abandoned) {
        try {
            while (true) {
                long left = deadlineNanos - clock.getAsLong();
                if (left <= 0 || abandoned.getAsBoolean()) {
                    return done.getCount() == 0;
                }
                if (done.await(Math.min(left, POLL_NANOS), TimeUnit.NANOSECONDS)) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Parse(unnamed, sql, no types), Bind(text $1), Describe(portal), Execute(all rows), Sync. */
    static byte[] request(String sql, String userName) {
        byte[] name = userName.getBytes(StandardCharsets.UTF_8);
        MessageBuilder m = new MessageBuilder(sql.length() + name.length + 64);
        m.begin(FrontendTag.PARSE).cstring("").cstring(sql).int16(0).end();
        m.begin(FrontendTag.BIND).cstring("").cstring("").int16(0).int16(1).int32(name.length).bytes(name).int16(0).end();
        m.begin(FrontendTag.DESCRIBE).int8('P').cstring("").end();
        m.begin(FrontendTag.EXECUTE).cstring("").int32(0).end();
        m.begin(FrontendTag.SYNC).end();
        return m.toArray();
    }

    // ------------------------------------------------------------------ LinkedClient (server thread)

    /** The answer is only fed, never blocks, so it takes it all. */
    @Override
    public int sendFromServer(byte[] bytes, int offset, int length, java.util.function.BooleanSupplier giveUp) {
        return trySendFromServer(bytes, offset, length);
    }

    /** An inline pass of the server's poller: the answer is only fed, never blocks, so it takes it all. */
    @Override
    public int trySendFromServer(byte[] bytes, int offset, int length) {
        if (answer.feed(bytes, offset, length)) {
            done.countDown();
        }
        return length;
    }

    @Override
    public void serverFailed(String reason, String sqlState) {
        failure = reason == null ? "server conn crashed?" : reason;
        done.countDown();
    }

    @Override
    public void parameterChanged(String name, String value) {
    }

    @Override
    public void unlinked(ServerConnection server) {
    }

    @Override
    public void forgetStatement(String name, io.pgloom.prepared.Statement statement) {
    }

    @Override
    public void restoreStatement(String name, io.pgloom.prepared.Statement statement) {
    }

    @Override
    public void statementsDeallocated() {
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public String logPrefix() {
        return logPrefix;
    }
}
