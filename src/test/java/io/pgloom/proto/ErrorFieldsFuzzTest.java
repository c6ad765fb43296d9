package io.pgloom.proto;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link ErrorFields#parse}, the decoder of every ErrorResponse and NoticeResponse body
 * pgloom reads (server login, dirty idle servers, internal queries, takeover), and the accessors
 * its callers use. The body is also parsed in place inside a larger buffer whose following bytes
 * would complete it (NULs): the result must be the same, so nothing is read past the body.
 */
@Tag("fuzz")
@Timeout(30)
class ErrorFieldsFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void errorFields(byte[] body) {
        Fuzzing.check(body, (256 << 10) + 64L * body.length, () -> {
            byte[] framed = new byte[body.length + 16];
            System.arraycopy(body, 0, framed, 7, body.length);
            require(outcome(body, 0, body.length).equals(outcome(framed, 7, body.length)),
                    "the result depends on bytes after the body");
            ErrorFields e = ErrorFields.parse(body, 0, body.length);
            // the accessors ServerConnection, ServerLogin.LoginError and the close reasons use
            e.sqlState();
            require(e.toString().contains(String.valueOf(e.message())), "toString without the message");
            require(e.isFatal() == ("FATAL".equals(e.severity()) || "PANIC".equals(e.severity())), "isFatal");
            require(!e.fields().containsKey((char) 0), "a field with code 0");
        }, ProtocolViolationException.class);
    }

    @Test
    void mutatedCorpus() {
        Fuzzing.mutateCorpus(getClass(), "errorFields", List.of("\0", "SFATAL\0", "VERROR\0", "C57P01\0", "M", "\0\0"),
                this::errorFields);
    }

    private static String outcome(byte[] b, int offset, int length) {
        try {
            return ErrorFields.parse(b, offset, length).fields().toString();
        } catch (ProtocolViolationException e) {
            return "refused: " + e.getMessage();
        }
    }
}
