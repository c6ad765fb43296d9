package io.pgloom.proto;

import static io.pgloom.proto.Hex.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ErrorFieldsTest {

    @Test
    void withSqlState() {
        byte[] body = bytes("53", "'ERREUR", "00", "56", "'ERROR", "00", "43", "'42P01", "00", "4d",
                "'relation \"t\" does not exist", "00", "50", "'15", "00", "00");
        ErrorFields f = ErrorFields.parse(body, 0, body.length);
        assertThat(f.severity()).as("V, the untranslated severity, wins over S").isEqualTo("ERROR");
        assertThat(f.sqlState()).isEqualTo("42P01");
        assertThat(f.message()).isEqualTo("relation \"t\" does not exist");
        assertThat(f.fields()).containsEntry('P', "15");
        assertThat(f.isFatal()).isFalse();
        assertThat(f).hasToString("ERROR: relation \"t\" does not exist (42P01)");
    }

    @Test
    void withoutSqlState() {
        byte[] body = bytes("53", "'FATAL", "00", "4d", "'no more connections allowed", "00", "00");
        ErrorFields f = ErrorFields.parse(body, 0, body.length);
        assertThat(f.sqlState()).isNull();
        assertThat(f.severity()).isEqualTo("FATAL");
        assertThat(f.isFatal()).isTrue();
        assertThat(f).hasToString("FATAL: no more connections allowed");
    }

    @Test
    void panicIsFatal() {
        byte[] body = bytes("56", "'PANIC", "00", "00");
        assertThat(ErrorFields.parse(body, 0, body.length).isFatal()).isTrue();
    }

    @Test
    void emptyFieldList() {
        ErrorFields f = ErrorFields.parse(bytes("00"), 0, 1);
        assertThat(f.fields()).isEmpty();
        assertThat(f.severity()).isNull();
        assertThat(f.message()).isNull();
    }

    @Test
    void parsesTheBodyOfAnEncodedErrorResponseInPlace() {
        MessageBuilder b = new MessageBuilder();
        BackendMessages.readyForQuery(b, 'I');
        BackendMessages.error(b, "FATAL", SqlState.TOO_MANY_CONNECTIONS, "no more connections allowed (max_client_conn)");
        byte[] all = b.toArray();
        int offset = 6 + 5;
        ErrorFields f = ErrorFields.parse(all, offset, all.length - offset);
        assertThat(f.sqlState()).isEqualTo("53300");
        assertThat(f.message()).isEqualTo("no more connections allowed (max_client_conn)");
        assertThat(f.isFatal()).isTrue();
    }

    @Test
    void truncatedFieldsAreAProtocolViolation() {
        byte[] noEnd = bytes("53", "'ERROR", "00");
        assertThatThrownBy(() -> ErrorFields.parse(noEnd, 0, noEnd.length)).isInstanceOf(ProtocolViolationException.class);
        byte[] unterminated = bytes("4d", "'abc");
        assertThatThrownBy(() -> ErrorFields.parse(unterminated, 0, unterminated.length))
                .isInstanceOf(ProtocolViolationException.class);
        assertThatThrownBy(() -> ErrorFields.parse(new byte[0], 0, 0)).isInstanceOf(ProtocolViolationException.class);
    }

    @Test
    void neverReadsPastItsSlice() {
        byte[] buf = bytes("4d", "'abc", "00", "00", "4d", "'next", "00", "00");
        // the slice ends before the first field's terminator although the array goes on
        assertThatThrownBy(() -> ErrorFields.parse(buf, 0, 3)).isInstanceOf(ProtocolViolationException.class);
    }
}
