package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UserListTest {
    private static final String MD5 = "md54d45974e13472b5a0be3533de4666414";

    private static UserList parse(String text) throws UserListException {
        return UserList.parse(text, "userlist.txt");
    }

    @Test
    void parsesUsersAndClassifiesSecrets() throws Exception {
        UserList list = parse("\"alice\" \"secret\"\n\"user\" \"" + MD5 + "\"\n\"bob\" \""
                + ScramVectors.PYTHON_SECRET_FOR_SECRET + "\"\n");
        assertThat(list.secrets()).containsOnlyKeys("alice", "user", "bob");
        assertThat(list.secret("alice")).contains(new Secret.Plain("secret"));
        assertThat(list.secret("user")).contains(new Secret.Md5Hash(MD5));
        assertThat(list.secret("bob").orElseThrow()).isInstanceOf(Secret.Scram.class);
        assertThat(list.secret("nobody")).isEmpty();
        assertThat(list.size()).isEqualTo(3);
        assertThat(list).hasToString("UserList[3 users]");
    }

    @Test
    void doubledQuotesAreEscapedQuotes() throws Exception {
        UserList list = parse("\"a\"\"b\" \"p\"\"w\"\"\"\n\"\"\"\" \"\"\n");
        assertThat(list.secret("a\"b")).contains(new Secret.Plain("p\"w\""));
        assertThat(list.secret("\"")).contains(new Secret.Plain(""));
    }

    @Test
    void skipsCommentsBlankLinesAndTrailingFields() throws Exception {
        String text = """
                ; a PgBouncer comment
                # a comment too
                  \t
                  "alice" "pw1" "third field, ignored" and more
                "bob"\t"pw2"
                "carol","pw3"
                "dave" = "pw4"\r
                """;
        UserList list = parse("\uFEFF" + text);
        assertThat(list.secrets()).containsExactly(
                java.util.Map.entry("alice", new Secret.Plain("pw1")),
                java.util.Map.entry("bob", new Secret.Plain("pw2")),
                java.util.Map.entry("carol", new Secret.Plain("pw3")),
                java.util.Map.entry("dave", new Secret.Plain("pw4")));
    }

    @Test
    void laterDuplicateWins() throws Exception {
        assertThat(parse("\"a\" \"old\"\n\"a\" \"new\"").secret("a")).contains(new Secret.Plain("new"));
    }

    @Test
    void emptyTextIsAnEmptyList() throws Exception {
        assertThat(parse("").secrets()).isEmpty();
        assertThat(parse("\n\n; only comments\n").secrets()).isEmpty();
    }

    @Test
    void resultIsImmutable() throws Exception {
        UserList list = parse("\"a\" \"b\"");
        assertThatThrownBy(() -> list.secrets().put("x", new Secret.Plain("y")))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void errorsNameTheFileAndLineButNeverThePassword() {
        String ok = "\"ok\" \"fine\"\n";
        assertError(ok + ok + "alice hunter2\n", "userlist.txt:3: expected a double-quoted user name");
        assertError("\"alice hunter2\n", "userlist.txt:1: user name has no closing double quote");
        assertError(ok + "\"alice\"\n", "userlist.txt:2: expected a double-quoted password after the user name");
        assertError(ok + "\"alice\" \"hunter2\n", "userlist.txt:2: password has no closing double quote");
        assertError("\"alice\" \"hunter2\"\"\n", "userlist.txt:1: password has no closing double quote");
        assertError("\"\" \"hunter2\"", "userlist.txt:1: empty user name");
    }

    @Test
    void enforcesSizeLimits() throws Exception {
        String user127 = "u".repeat(UserList.MAX_USER_NAME_BYTES);
        String secret65530 = "h".repeat(UserList.MAX_SECRET_BYTES);
        assertThat(parse("\"" + user127 + "\" \"" + secret65530 + "\"").secret(user127))
                .contains(new Secret.Plain(secret65530));
        assertError("\"" + user127 + "u\" \"x\"", "userlist.txt:1: user name is 128 bytes long, the limit is 127");
        assertError("\"" + "\u00e9".repeat(64) + "\" \"x\"",
                "userlist.txt:1: user name is 128 bytes long, the limit is 127");
        assertError("\"u\" \"" + secret65530 + "h\"", "userlist.txt:1: password is longer than 65530 bytes");
        assertError("\"u\" \"" + "\u00e9".repeat(32766) + "\"", "userlist.txt:1: password is longer than 65530 bytes");
    }

    @Test
    void loadsAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("userlist.txt");
        Files.writeString(file, "\"j\u00fcrgen\" \"p\u00e4ss\"\n", StandardCharsets.UTF_8);
        assertThat(UserList.load(file).secret("j\u00fcrgen")).contains(new Secret.Plain("p\u00e4ss"));
    }

    @Test
    void loadReportsInvalidUtf8WithItsLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("userlist.txt");
        byte[] secondLineBad = "\"a\" \"b\"\n\"c\" \"?\"".getBytes(StandardCharsets.US_ASCII);
        secondLineBad[secondLineBad.length - 2] = (byte) 0xff;
        Files.write(file, secondLineBad);
        assertThatThrownBy(() -> UserList.load(file))
                .isExactlyInstanceOf(UserListException.class)
                .hasMessage(file + ":2: not valid UTF-8");
    }

    @Test
    void loadReportsAMissingFile(@TempDir Path dir) {
        Path file = dir.resolve("missing.txt");
        assertThatThrownBy(() -> UserList.load(file))
                .isExactlyInstanceOf(UserListException.class)
                .hasMessageStartingWith(file + ": cannot read: ");
    }

    private static void assertError(String text, String message) {
        assertThatThrownBy(() -> parse(text))
                .isExactlyInstanceOf(UserListException.class)
                .hasMessage(message)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2").doesNotContain("hhhh"));
    }
}
