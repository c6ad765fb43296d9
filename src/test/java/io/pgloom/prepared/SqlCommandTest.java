package io.pgloom.prepared;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SqlCommand}: which simple Query texts are exactly one SQL-level PREPARE, EXECUTE or
 * DEALLOCATE, the names PostgreSQL would resolve, and the byte ranges of the types, statement
 * body and arguments. Every input is a whole Query message ('Q', int32 length, text, NUL).
 */
class SqlCommandTest {

    /** A Query message for {@code sql}. */
    private static byte[] query(String sql) {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 4 + text.length + 1).put((byte) 'Q').putInt(4 + text.length + 1).put(text)
                .put((byte) 0).array();
    }

    /** A parsed command together with the message it came from, to read its ranges as text. */
    private record Parsed(SqlCommand cmd, byte[] b) {
        String types() {
            return new String(b, cmd.typesFrom(), cmd.typesTo() - cmd.typesFrom(), StandardCharsets.UTF_8);
        }

        String body() {
            return new String(b, cmd.bodyFrom(), cmd.bodyTo() - cmd.bodyFrom(), StandardCharsets.UTF_8);
        }
    }

    private static SqlCommand parse(String sql) {
        byte[] b = query(sql);
        return SqlCommand.parse(b, 0, b.length);
    }

    private static Parsed parsed(String sql) {
        byte[] b = query(sql);
        SqlCommand cmd = SqlCommand.parse(b, 0, b.length);
        assertThat(cmd).as("a command: %s", sql).isNotNull();
        return new Parsed(cmd, b);
    }

    private static boolean candidate(String sql) {
        byte[] b = query(sql);
        return SqlCommand.candidate(b, 0, b.length);
    }

    // *** PREPARE ***

    @Test
    void prepareWithoutTypes() {
        Parsed p = parsed("PREPARE foo AS SELECT 1");
        assertThat(p.cmd().kind()).isEqualTo(SqlCommand.Kind.PREPARE);
        assertThat(p.cmd().name()).isEqualTo("foo");
        assertThat(p.types()).isEmpty();
        assertThat(p.body()).isEqualTo("SELECT 1");
    }

    @Test
    void prepareWithTypes() {
        Parsed p = parsed("PREPARE foo (int, text) AS SELECT $1, $2");
        assertThat(p.cmd().kind()).isEqualTo(SqlCommand.Kind.PREPARE);
        assertThat(p.cmd().name()).isEqualTo("foo");
        assertThat(p.types()).isEqualTo("(int, text)");
        assertThat(p.body()).isEqualTo("SELECT $1, $2");
    }

    @Test
    void prepareWithTypesThatHaveParenthesesOfTheirOwn() {
        Parsed p = parsed("prepare q(numeric(10,2), varchar(5), int[])as select $1::numeric(10,2) * 2, $2, $3");
        assertThat(p.cmd().name()).isEqualTo("q");
        assertThat(p.types()).isEqualTo("(numeric(10,2), varchar(5), int[])");
        assertThat(p.body()).isEqualTo("select $1::numeric(10,2) * 2, $2, $3");
    }

    @Test
    void keywordsInAnyCase() {
        Parsed p = parsed("PrePare x As sElEcT 1");
        assertThat(p.cmd().kind()).isEqualTo(SqlCommand.Kind.PREPARE);
        assertThat(p.body()).isEqualTo("sElEcT 1");
        assertThat(parsed("eXeCuTe x").cmd().kind()).isEqualTo(SqlCommand.Kind.EXECUTE);
        assertThat(parsed("DeAllocate x").cmd().kind()).isEqualTo(SqlCommand.Kind.DEALLOCATE);
    }

    @Test
    void unquotedNamesFoldToLowerCase() {
        assertThat(parsed("PREPARE MyStmt AS SELECT 1").cmd().name()).isEqualTo("mystmt");
        assertThat(parsed("EXECUTE MYSTMT").cmd().name()).isEqualTo("mystmt");
        assertThat(parsed("DEALLOCATE MyStmt").cmd().name()).isEqualTo("mystmt");
        assertThat(parsed("EXECUTE p$1_X9").cmd().name()).isEqualTo("p$1_x9");
        // PostgreSQL folds only ASCII letters of an unquoted name in a multibyte encoding
        assertThat(parsed("EXECUTE Ärger").cmd().name()).isEqualTo("Ärger");
    }

    @Test
    void quotedNamesKeepTheirCaseAndUndoubleQuotes() {
        assertThat(parsed("PREPARE \"MyStmt\" AS SELECT 1").cmd().name()).isEqualTo("MyStmt");
        assertThat(parsed("PREPARE \"My\"\"Stmt\" AS SELECT 1").cmd().name()).isEqualTo("My\"Stmt");
        assertThat(parsed("EXECUTE \"\"\"\"").cmd().name()).isEqualTo("\"");
        assertThat(parsed("EXECUTE \"with space; and semicolon\"").cmd().name()).isEqualTo("with space; and semicolon");
        assertThat(parsed("DEALLOCATE \"ünï\"").cmd().name()).isEqualTo("ünï");
    }

    @Test
    void emptyQuotedNameIsNotACommand() {
        assertThat(parse("EXECUTE \"\"")).isNull();
        assertThat(parse("PREPARE \"\" AS SELECT 1")).isNull();
    }

    @Test
    void trailingSemicolonAndCommentsAreNotPartOfTheBody() {
        assertThat(parsed("PREPARE p AS SELECT 1;").body()).isEqualTo("SELECT 1");
        assertThat(parsed("PREPARE p AS SELECT 1  ;  ").body()).isEqualTo("SELECT 1");
        assertThat(parsed("PREPARE p AS SELECT 1 -- trailing").body()).isEqualTo("SELECT 1");
        assertThat(parsed("PREPARE p AS SELECT 1 /* c */ ; -- done\n").body()).isEqualTo("SELECT 1");
        assertThat(parsed("PREPARE p AS SELECT 1 -- ; SELECT 2").body()).isEqualTo("SELECT 1");
        assertThat(parsed("PREPARE p AS SELECT /* inside */ 1\n").body()).isEqualTo("SELECT /* inside */ 1");
        assertThat(parsed("PREPARE p AS SELECT 1; /* a /* nested */ b */").body()).isEqualTo("SELECT 1");
    }

    @Test
    void semicolonsInsideQuotesDoNotEndTheBody() {
        assertThat(parsed("PREPARE p AS SELECT 'a;b'").body()).isEqualTo("SELECT 'a;b'");
        assertThat(parsed("PREPARE p AS SELECT 'it''s; here';").body()).isEqualTo("SELECT 'it''s; here'");
        assertThat(parsed("PREPARE p AS SELECT E'it\\'s;' ;").body()).isEqualTo("SELECT E'it\\'s;'");
        assertThat(parsed("PREPARE p AS SELECT e'\\\\';").body()).isEqualTo("SELECT e'\\\\'");
        assertThat(parsed("PREPARE p AS SELECT 1 AS \"a;b\";").body()).isEqualTo("SELECT 1 AS \"a;b\"");
        assertThat(parsed("PREPARE p AS SELECT $$x;y$$").body()).isEqualTo("SELECT $$x;y$$");
        assertThat(parsed("PREPARE p AS SELECT $tag$x;$$;'y$tag$;").body()).isEqualTo("SELECT $tag$x;$$;'y$tag$");
        assertThat(parsed("PREPARE p AS SELECT ';' || $1 || $q$;$q$").body()).isEqualTo("SELECT ';' || $1 || $q$;$q$");
    }

    @Test
    void aBackslashEndsNoStandardString() {
        // standard_conforming_strings: in '...' a backslash is an ordinary character
        assertThat(parsed("PREPARE p AS SELECT 'a\\'").body()).isEqualTo("SELECT 'a\\'");
        assertThat(parse("PREPARE p AS SELECT 'a\\'; SELECT 2")).as("two statements").isNull();
    }

    @Test
    void prepareNeedsAsAndABody() {
        assertThat(parse("PREPARE p SELECT 1")).isNull();
        assertThat(parse("PREPARE p AS")).isNull();
        assertThat(parse("PREPARE p AS ;")).isNull();
        assertThat(parse("PREPARE AS SELECT 1")).as("AS is taken as the name, then no AS").isNull();
        assertThat(parse("PREPARE p (int AS SELECT $1")).as("types never close").isNull();
        assertThat(parse("PREPAREp AS SELECT 1")).isNull();
    }

    // *** not exactly one command ***

    @ParameterizedTest
    @ValueSource(strings = {
        "PREPARE p AS SELECT 1; SELECT 2",
        "PREPARE p AS SELECT 1; PREPARE q AS SELECT 2",
        "EXECUTE p; SELECT 1",
        "EXECUTE p(1); EXECUTE p(2)",
        "DEALLOCATE p; DEALLOCATE q",
        "DEALLOCATE p;;",
        "SELECT 1; EXECUTE p",
    })
    void multiStatementTextIsNotACommand(String sql) {
        assertThat(parse(sql)).isNull();
    }

    @Test
    void oneStatementWithATrailingSemicolonIsStillOne() {
        assertThat(parsed("DEALLOCATE p; ").cmd().name()).isEqualTo("p");
        assertThat(parsed("EXECUTE p(1) ;\n").cmd().name()).isEqualTo("p");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "EXPLAIN EXECUTE p",
        "EXPLAIN ANALYZE EXECUTE p(1)",
        "CREATE TABLE t AS EXECUTE p",
        "SELECT 1",
        "SELECT 'PREPARE p AS SELECT 1'",
        "executes p",
        "EXECUTE",
        "DEALLOCATE",
        "",
        "   ",
    })
    void otherStatementsAreNotCommands(String sql) {
        assertThat(parse(sql)).isNull();
    }

    // *** DEALLOCATE ***

    @ParameterizedTest
    @ValueSource(strings = {"DEALLOCATE ALL", "deallocate all;", "DEALLOCATE   All  ; -- x", "DEALLOCATE PREPARE ALL",
        "/* c */ DEALLOCATE ALL"})
    void deallocateAllIsNotACommand(String sql) {
        assertThat(parse(sql)).isNull();
    }

    @Test
    void deallocateOfAQuotedAllIsAName() {
        Parsed p = parsed("DEALLOCATE \"all\"");
        assertThat(p.cmd().kind()).isEqualTo(SqlCommand.Kind.DEALLOCATE);
        assertThat(p.cmd().name()).isEqualTo("all");
        assertThat(parsed("DEALLOCATE PREPARE \"all\";").cmd().name()).isEqualTo("all");
        assertThat(parsed("DEALLOCATE \"ALL\"").cmd().name()).isEqualTo("ALL");
        assertThat(parsed("DEALLOCATE allx").cmd().name()).isEqualTo("allx");
    }

    @Test
    void deallocatePrepare() {
        Parsed p = parsed("DEALLOCATE PREPARE x");
        assertThat(p.cmd().kind()).isEqualTo(SqlCommand.Kind.DEALLOCATE);
        assertThat(p.cmd().name()).isEqualTo("x");
        assertThat(p.types()).isEmpty();
        assertThat(p.body()).isEmpty();
        assertThat(parsed("deallocate prepare X ;").cmd().name()).isEqualTo("x");
        assertThat(parsed("DEALLOCATE x").cmd().name()).isEqualTo("x");
        // "prepare_me" is a name, not the PREPARE keyword
        assertThat(parsed("DEALLOCATE prepare_me").cmd().name()).isEqualTo("prepare_me");
        assertThat(parse("DEALLOCATE x y")).isNull();
    }

    // *** EXECUTE ***

    @Test
    void executeWithoutArguments() {
        Parsed p = parsed("EXECUTE p");
        assertThat(p.cmd().kind()).isEqualTo(SqlCommand.Kind.EXECUTE);
        assertThat(p.cmd().name()).isEqualTo("p");
        assertThat(p.body()).isEmpty();
        assertThat(p.types()).isEmpty();
        assertThat(parsed("EXECUTE p;").body()).isEmpty();
    }

    @Test
    void executeArgumentsWithParenthesesAndStrings() {
        Parsed p = parsed("EXECUTE p(1, 'a)b', (2 + 3), f(x, g(y)), '(', \")\", $$)$$, E'\\')')");
        assertThat(p.cmd().kind()).isEqualTo(SqlCommand.Kind.EXECUTE);
        assertThat(p.cmd().name()).isEqualTo("p");
        assertThat(p.body()).isEqualTo("(1, 'a)b', (2 + 3), f(x, g(y)), '(', \")\", $$)$$, E'\\')')");
        assertThat(parsed("EXECUTE p (1) ; -- done").body()).isEqualTo("(1)");
        assertThat(parsed("EXECUTE p('x;y');").body()).isEqualTo("('x;y')");
    }

    @Test
    void executeWithSomethingAfterTheArgumentsIsNotACommand() {
        assertThat(parse("EXECUTE p(1) extra")).isNull();
        assertThat(parse("EXECUTE p(1)(2)")).isNull();
        assertThat(parse("EXECUTE p(1, ;2)")).isNull();
        assertThat(parse("EXECUTE p(1")).isNull();
    }

    // *** lexing limits ***

    @ParameterizedTest
    @ValueSource(strings = {
        "PREPARE p AS SELECT 'abc",
        "PREPARE p AS SELECT E'abc\\'",
        "PREPARE p AS SELECT \"abc",
        "PREPARE p AS SELECT $$abc",
        "PREPARE p AS SELECT $a$abc$b$",
        "PREPARE p AS SELECT 1 /* never closed",
        "PREPARE \"p AS SELECT 1",
        "EXECUTE p('abc)",
        "EXECUTE \"p",
        "DEALLOCATE \"p",
        "EXECUTE p /* open",
    })
    void unterminatedQuoteOrCommentIsNotACommand(String sql) {
        assertThat(parse(sql)).isNull();
    }

    @Test
    void leadingCommentsAndBlanks() {
        assertThat(parsed("-- hello\nPREPARE p AS SELECT 1").cmd().kind()).isEqualTo(SqlCommand.Kind.PREPARE);
        assertThat(parsed("/* a /* nested */ b */ EXECUTE p").cmd().name()).isEqualTo("p");
        assertThat(parsed("\n\t\r  -- one\n-- two\n  DEALLOCATE p").cmd().name()).isEqualTo("p");
        assertThat(parsed("PREPARE /* x */ p /* y */ (int) /* z */ AS /* w */ SELECT $1").body()).isEqualTo("SELECT $1");
        assertThat(parse("-- only a comment")).isNull();
    }

    @Test
    void unicodeEscapedNamesAreNotCommands() {
        assertThat(parse("EXECUTE U&\"x\"")).isNull();
        assertThat(parse("PREPARE u&\"d\\0061t\" AS SELECT 1")).isNull();
        assertThat(parse("DEALLOCATE U&\"x\"")).isNull();
        // a name that merely starts with u is fine
        assertThat(parsed("EXECUTE u1").cmd().name()).isEqualTo("u1");
        assertThat(parsed("EXECUTE U").cmd().name()).isEqualTo("u");
    }

    // *** message framing ***

    @Test
    void rangesAreOffsetsIntoTheBufferForAMessageNotAtItsStart() {
        byte[] msg = query("PREPARE p (int) AS SELECT $1 + 1;");
        byte[] buf = new byte[7 + msg.length + 5];
        System.arraycopy(msg, 0, buf, 7, msg.length);
        java.util.Arrays.fill(buf, 7 + msg.length, buf.length, (byte) 'X');
        SqlCommand cmd = SqlCommand.parse(buf, 7, msg.length);
        assertThat(cmd).isNotNull();
        Parsed p = new Parsed(cmd, buf);
        assertThat(p.types()).isEqualTo("(int)");
        assertThat(p.body()).isEqualTo("SELECT $1 + 1");
        assertThat(SqlCommand.candidate(buf, 7, msg.length)).isTrue();
    }

    @Test
    void aMessageWithoutItsTerminatingNulIsNotACommand() {
        byte[] msg = query("EXECUTE p");
        msg[msg.length - 1] = ' ';
        assertThat(SqlCommand.parse(msg, 0, msg.length)).isNull();
    }

    // *** candidate ***

    @ParameterizedTest
    @ValueSource(strings = {"PREPARE p AS SELECT 1", "prepare", "  \n\tEXECUTE p", "execute p", "DEALLOCATE p",
        "-- c\nEXECUTE p", "/* c */ EXECUTE p"})
    void candidates(String sql) {
        assertThat(candidate(sql)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"SELECT 1", "insert into t values (1)", "BEGIN", "", "   ", "update t set a = 1",
        "COMMIT", "(select 1)"})
    void notCandidates(String sql) {
        assertThat(candidate(sql)).isFalse();
    }

    @Test
    void everyCommandIsACandidate() {
        for (String sql : new String[] {"PREPARE p AS SELECT 1", "EXECUTE p", "DEALLOCATE p", "-- x\nEXECUTE p",
            "/* x */ DEALLOCATE PREPARE p", "\r\nprepare p as select 1", "\fprepare p as select 1", "\f\tEXECUTE p",
            "\u000bPREPARE p\u000bAS\u000bSELECT 1", "-- comment ends at CR\rEXECUTE p"}) {
            assertThat(parse(sql)).as(sql).isNotNull();
            assertThat(candidate(sql)).as(sql).isTrue();
        }
    }
}
