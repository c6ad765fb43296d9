package io.pgloom.auth;

import io.pgloom.proto.BackendTag;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.ErrorFields;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.ProtocolViolationException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads PostgreSQL's answer to auth_query (ParseComplete, BindComplete, RowDescription, DataRow,
 * CommandComplete, ReadyForQuery), fed in whatever pieces the server's thread forwards them, and
 * turns it into a {@link Result}: the user's row, no row, or why the lookup failed. PgBouncer's
 * rules: exactly two columns, a NULL user name is an error, a NULL secret is a user who cannot log
 * in. More than one row is refused too (a lookup by name returns one). The whole answer is bounded
 * by {@code limit} bytes. Confined to one lookup; {@link #feed} and {@link #result} may be called
 * from different threads only with a happens-before between them (the caller's latch).
 */
public final class AuthQueryAnswer {

    /** The outcome of one lookup. */
    public sealed interface Result permits Found, NotFound, Failed {
    }

    /** The row: the secret text, or null when the query returned NULL for it. */
    public record Found(String secret) implements Result {
        @Override
        public String toString() {
            return secret == null ? "Found[NULL]" : "Found[...]";
        }
    }

    /** No row: the user does not exist (or may not log in). */
    public record NotFound() implements Result {
    }

    /** The lookup failed; {@code reason} is for the log. */
    public record Failed(String reason) implements Result {
    }

    private final int limit;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int total;
    private Result result;
    private String rowSecret;
    private int rows;
    private String error;

    /** @param limit the largest answer accepted, in bytes (max_packet_size) */
    public AuthQueryAnswer(int limit) {
        this.limit = limit;
    }

    /** Takes the next bytes of the answer; true once the answer is complete (or has failed). */
    public boolean feed(byte[] b, int offset, int length) {
        if (result != null) {
            return true;
        }
        total += length;
        if (total > limit || total < 0) {
            result = new Failed("auth_query answer larger than " + limit + " bytes (max_packet_size)");
            return true;
        }
        pending.write(b, offset, length);
        byte[] buf = pending.toByteArray();
        int pos = 0;
        try {
            while (result == null && buf.length - pos >= 5) {
                int len = MessageBuilder.getInt(buf, pos + 1);
                if (len < 4 || len > buf.length - pos - 1) {
                    if (len < 4) {
                        throw new ProtocolViolationException("invalid message length " + len);
                    }
                    break;
                }
                message(buf[pos], buf, pos + 5, len - 4);
                pos += len + 1;
            }
        } catch (ProtocolViolationException e) {
            result = new Failed("bad auth_query answer: " + e.getMessage());
        }
        pending.reset();
        pending.write(buf, pos, buf.length - pos);
        return result != null;
    }

    /** The outcome, once {@link #feed} returned true; null before. */
    public Result result() {
        return result;
    }

    private void message(byte tag, byte[] buf, int offset, int length) {
        BodyReader r = new BodyReader(buf, offset, length, "auth_query answer");
        switch (tag) {
            case BackendTag.ROW_DESCRIPTION -> {
                int columns = r.int16();
                if (columns != 2) {
                    fail("expected 2 columns from auth_query, not " + columns);
                }
            }
            case BackendTag.NO_DATA -> fail("expected 2 columns from auth_query, not 0");
            case BackendTag.DATA_ROW -> dataRow(r);
            case BackendTag.ERROR_RESPONSE -> {
                ErrorFields e = ErrorFields.parse(buf, offset, length);
                fail("auth_query failed: " + e.message() + (e.sqlState() == null ? "" : " (" + e.sqlState() + ")"));
            }
            case BackendTag.READY_FOR_QUERY -> result = error != null ? new Failed(error)
                    : rows == 0 ? new NotFound() : new Found(rowSecret);
            case BackendTag.PARSE_COMPLETE, BackendTag.BIND_COMPLETE, BackendTag.COMMAND_COMPLETE,
                    BackendTag.NOTICE_RESPONSE, BackendTag.PARAMETER_STATUS, BackendTag.PORTAL_SUSPENDED -> {
            }
            default -> fail("unexpected message '" + (char) tag + "' in the auth_query answer");
        }
    }

    private void dataRow(BodyReader r) {
        int columns = r.int16();
        if (columns != 2) {
            fail("expected 2 columns from auth_query, not " + columns);
            return;
        }
        String name = value(r);
        String secret = value(r);
        if (++rows > 1) {
            fail("auth_query returned more than one row");
        } else if (name == null) {
            fail("auth_query returned a NULL user name");
        }
        rowSecret = secret;
    }

    private static String value(BodyReader r) {
        int len = r.int32();
        if (len == -1) {
            return null;
        }
        return new String(r.bytes(len), StandardCharsets.UTF_8);
    }

    /** Keeps the first error; the answer is read on to its ReadyForQuery. */
    private void fail(String why) {
        if (error == null) {
            error = why;
        }
    }
}
