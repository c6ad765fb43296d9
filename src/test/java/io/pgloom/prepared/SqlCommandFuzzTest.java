package io.pgloom.prepared;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import io.pgloom.proto.MessageBuilder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link SqlCommand}, which finds SQL-level PREPARE, EXECUTE and DEALLOCATE in a client's
 * simple Query, and {@link StatementRewriter#names}, which decides which messages go through the
 * rewriter. The input is the query text; it is framed as a Query message placed at an offset
 * inside a larger buffer, with bytes around it that would change the answer if read. It must
 * never throw, never look outside the message, and its ranges must lie inside the text in order.
 */
@Tag("fuzz")
@Timeout(30)
class SqlCommandFuzzTest {
    private static final int AT = 11;

    @FuzzTest(maxDuration = "5m")
    void sqlCommand(byte[] text) {
        Fuzzing.check(text, (256 << 10) + 16L * text.length, () -> run(text));
    }

    @Test
    void mutatedCorpus() {
        Fuzzing.mutateCorpus(getClass(), "sqlCommand", List.of(" ", "'", "\"", "$$", "$a$", "(", ")", ";", "--", "/*", "*/",
                "\n", "E'\\'", "U&\"", "prepare ", "execute ", "deallocate ", " as ", "all"), this::sqlCommand);
    }

    private static void run(byte[] text) {
        byte[] message = new MessageBuilder().begin((byte) 'Q').bytes(text).int8(0).end().toArray();
        byte[] buffer = new byte[AT + message.length + AT];
        Arrays.fill(buffer, (byte) ';');
        System.arraycopy(message, 0, buffer, AT, message.length);
        byte[] quoted = buffer.clone();
        Arrays.fill(quoted, 0, AT, (byte) 'E');
        Arrays.fill(quoted, AT + message.length, quoted.length, (byte) '\'');

        SqlCommand cmd = SqlCommand.parse(buffer, AT, message.length);
        SqlCommand same = SqlCommand.parse(quoted, AT, message.length);
        require(String.valueOf(cmd).equals(String.valueOf(same)), "the answer depends on bytes outside the message");
        boolean candidate = SqlCommand.candidate(buffer, AT, message.length);
        require(candidate == SqlCommand.candidate(quoted, AT, message.length), "candidate() reads outside the message");
        require(StatementRewriter.names(buffer, AT, message.length) == candidate, "names() disagrees with candidate()");
        if (cmd == null) {
            return;
        }
        require(candidate, "a command that is not a candidate");
        int from = AT + 5;
        int to = AT + message.length - 1;
        require(from <= cmd.typesFrom() && cmd.typesFrom() <= cmd.typesTo() && cmd.typesTo() <= cmd.bodyFrom()
                && cmd.bodyFrom() <= cmd.bodyTo() && cmd.bodyTo() <= to, "ranges outside the text: " + cmd);
        require(cmd.name() != null && !cmd.name().isEmpty(), "a command without a name");
        if (cmd.kind() == SqlCommand.Kind.PREPARE) {
            require(cmd.bodyTo() > cmd.bodyFrom(), "PREPARE without a statement");
        }
    }
}
