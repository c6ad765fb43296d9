package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgloom.proto.BackendTag;
import io.pgloom.proto.MessageBuilder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** PostgreSQL's answer to auth_query, fed whole and in pieces, and the answers that must fail. */
class AuthQueryAnswerTest {
    private static final int LIMIT = 1 << 16;

    private static MessageBuilder head() {
        MessageBuilder m = new MessageBuilder();
        m.begin(BackendTag.PARSE_COMPLETE).end();
        m.begin(BackendTag.BIND_COMPLETE).end();
        return m;
    }

    private static void rowDescription(MessageBuilder m, int columns) {
        m.begin(BackendTag.ROW_DESCRIPTION).int16(columns);
        for (int i = 0; i < columns; i++) {
            m.cstring("c" + i).int32(0).int16(0).int32(25).int16(-1).int32(-1).int16(0);
        }
        m.end();
    }

    private static void row(MessageBuilder m, String... values) {
        m.begin(BackendTag.DATA_ROW).int16(values.length);
        for (String v : values) {
            if (v == null) {
                m.int32(-1);
            } else {
                byte[] b = v.getBytes(StandardCharsets.UTF_8);
                m.int32(b.length).bytes(b);
            }
        }
        m.end();
    }

    private static void tail(MessageBuilder m, int rows) {
        m.begin(BackendTag.COMMAND_COMPLETE).cstring("SELECT " + rows).end();
        m.begin(BackendTag.READY_FOR_QUERY).int8('I').end();
    }

    private static AuthQueryAnswer.Result feedInChunks(byte[] answer, int chunk) {
        AuthQueryAnswer a = new AuthQueryAnswer(LIMIT);
        boolean done = false;
        for (int i = 0; i < answer.length; i += chunk) {
            assertThat(done).as("complete before the end").isFalse();
            done = a.feed(answer, i, Math.min(chunk, answer.length - i));
        }
        assertThat(done).isTrue();
        return a.result();
    }

    @ParameterizedTest(name = "chunks of {0}")
    @ValueSource(ints = {1, 3, 7, 1000})
    void oneRowGivesTheSecret(int chunk) {
        MessageBuilder m = head();
        rowDescription(m, 2);
        row(m, "app", "SCRAM-SHA-256$4096:c2FsdA==$a:b");
        tail(m, 1);
        assertThat(feedInChunks(m.toArray(), chunk))
                .isEqualTo(new AuthQueryAnswer.Found("SCRAM-SHA-256$4096:c2FsdA==$a:b"));
    }

    @Test
    void nullSecretIsAUserWhoCannotLogIn() {
        MessageBuilder m = head();
        rowDescription(m, 2);
        row(m, "app", null);
        tail(m, 1);
        assertThat(feedInChunks(m.toArray(), 1000)).isEqualTo(new AuthQueryAnswer.Found(null));
    }

    @Test
    void noRowIsNotFound() {
        MessageBuilder m = head();
        rowDescription(m, 2);
        tail(m, 0);
        assertThat(feedInChunks(m.toArray(), 5)).isInstanceOf(AuthQueryAnswer.NotFound.class);
    }

    @Test
    void wrongColumnCountFails() {
        MessageBuilder m = head();
        rowDescription(m, 3);
        row(m, "app", "x", "y");
        tail(m, 1);
        assertThat(feedInChunks(m.toArray(), 1000))
                .isEqualTo(new AuthQueryAnswer.Failed("expected 2 columns from auth_query, not 3"));
    }

    @Test
    void nullUserNameAndSecondRowFail() {
        MessageBuilder m = head();
        rowDescription(m, 2);
        row(m, null, "x");
        tail(m, 1);
        assertThat(feedInChunks(m.toArray(), 1000))
                .isEqualTo(new AuthQueryAnswer.Failed("auth_query returned a NULL user name"));

        m = head();
        rowDescription(m, 2);
        row(m, "a", "x");
        row(m, "a", "y");
        tail(m, 2);
        assertThat(feedInChunks(m.toArray(), 1000))
                .isEqualTo(new AuthQueryAnswer.Failed("auth_query returned more than one row"));
    }

    @Test
    void serverErrorFailsWithAndWithoutSqlState() {
        MessageBuilder m = new MessageBuilder();
        m.begin(BackendTag.ERROR_RESPONSE).int8('S').cstring("ERROR").int8('C').cstring("42501")
                .int8('M').cstring("permission denied for table pg_authid").int8(0).end();
        m.begin(BackendTag.READY_FOR_QUERY).int8('I').end();
        assertThat(feedInChunks(m.toArray(), 2)).isEqualTo(
                new AuthQueryAnswer.Failed("auth_query failed: permission denied for table pg_authid (42501)"));

        m = new MessageBuilder();
        m.begin(BackendTag.ERROR_RESPONSE).int8('M').cstring("no sqlstate").int8(0).end();
        m.begin(BackendTag.READY_FOR_QUERY).int8('I').end();
        assertThat(feedInChunks(m.toArray(), 1000)).isEqualTo(new AuthQueryAnswer.Failed("auth_query failed: no sqlstate"));
    }

    @Test
    void lyingLengthsFailAtOnce() {
        AuthQueryAnswer a = new AuthQueryAnswer(LIMIT);
        byte[] bad = new MessageBuilder().begin(BackendTag.DATA_ROW).int16(2).int32(Integer.MAX_VALUE).end().toArray();
        assertThat(a.feed(bad, 0, bad.length)).isTrue();
        assertThat(a.result()).isInstanceOf(AuthQueryAnswer.Failed.class);

        a = new AuthQueryAnswer(LIMIT);
        byte[] header = {'D', 0, 0, 0, 2};
        assertThat(a.feed(header, 0, header.length)).isTrue();
        assertThat(((AuthQueryAnswer.Failed) a.result()).reason()).contains("invalid message length 2");
    }

    @Test
    void answerOverTheLimitFails() {
        AuthQueryAnswer a = new AuthQueryAnswer(100);
        MessageBuilder m = head();
        rowDescription(m, 2);
        row(m, "app", "x".repeat(200));
        byte[] b = m.toArray();
        assertThat(a.feed(b, 0, b.length)).isTrue();
        assertThat(a.result()).isEqualTo(new AuthQueryAnswer.Failed("auth_query answer larger than 100 bytes (max_packet_size)"));
    }
}
