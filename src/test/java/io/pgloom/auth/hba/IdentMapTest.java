package io.pgloom.auth.hba;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentMapTest {
    private static IdentMap parse(String text) throws HbaException {
        return IdentMap.parse(text, "pg_ident.conf");
    }

    private static void fails(String text, String message) {
        assertThatThrownBy(() -> parse(text)).isInstanceOf(HbaException.class).hasMessage(message);
    }

    @Test
    void literalLines() throws Exception {
        IdentMap m = parse("""
                # MAPNAME  SYSTEM-USERNAME  PG-USERNAME
                certs      alice            alice
                certs      "Bob Smith"      bob      # a comment
                local      root             postgres
                """);
        assertThat(m.allows("certs", "alice", "alice")).isTrue();
        assertThat(m.allows("certs", "Bob Smith", "bob")).isTrue();
        assertThat(m.allows("certs", "alice", "bob")).isFalse();
        assertThat(m.allows("local", "root", "postgres")).isTrue();
        assertThat(m.allows("local", "alice", "alice")).isFalse(); // another map's line does not count
        assertThat(m.allows("nosuchmap", "alice", "alice")).isFalse();
        assertThat(m.mapNames()).containsExactly("certs", "local");
        assertThat(m.size()).isEqualTo(3);
    }

    @Test
    void regexSystemUsersWithBackreference() throws Exception {
        IdentMap m = parse("""
                certs  /^(.*)@example\\.com$   \\1
                certs  /^admin-               postgres
                mixed  /^(.*)@corp$           app_\\1_\\1
                """);
        assertThat(m.allows("certs", "alice@example.com", "alice")).isTrue();
        assertThat(m.allows("certs", "alice@example.com", "bob")).isFalse();
        assertThat(m.allows("certs", "alice@example.org", "alice")).isFalse();
        assertThat(m.allows("certs", "admin-7", "postgres")).isTrue(); // searched, not whole-string
        assertThat(m.allows("certs", "xadmin-7", "postgres")).isFalse();
        // PostgreSQL substitutes the first \1 only
        assertThat(m.allows("mixed", "joe@corp", "app_joe_\\1")).isTrue();
        assertThat(m.allows("mixed", "joe@corp", "app_joe_joe")).isFalse();
    }

    @Test
    void databaseUserAsAllOrRegex() throws Exception {
        IdentMap m = parse("""
                ops   root     all
                ro    carol    /^report_
                lit   dave     "all"
                """);
        assertThat(m.allows("ops", "root", "anyone")).isTrue();
        assertThat(m.allows("ro", "carol", "report_daily")).isTrue();
        assertThat(m.allows("ro", "carol", "admin")).isFalse();
        assertThat(m.allows("lit", "dave", "all")).isTrue(); // quoted: the name "all"
        assertThat(m.allows("lit", "dave", "x")).isFalse();
    }

    @Test
    void errorsNameFileAndLine() {
        fails("certs alice\n", "pg_ident.conf:1: missing entry at end of line (expected MAPNAME SYSTEM-USERNAME PG-USERNAME)");
        fails("\ncerts alice alice extra\n", "pg_ident.conf:2: extra fields at end of line");
        fails("certs alice,bob alice\n", "pg_ident.conf:1: multiple values in ident field");
        fails("certs /[unclosed alice\n", "pg_ident.conf:1: invalid regular expression \"[unclosed\": Unclosed character class");
        fails("certs /^x$ \\1\n", "pg_ident.conf:1: regular expression \"^x$\" has no subexpressions as requested by"
                + " backreference in \"\\1\"");
        fails("certs alice \\1\n", "pg_ident.conf:1: \\1 in \"\\1\" needs a regular expression as the system user");
        fails("certs alice +admins\n", "pg_ident.conf:1: group names (+admins) are not supported: pgloom has no roles or groups");
        fails("certs \"alice alice\n", "pg_ident.conf:1: unterminated quoted string");
    }

    @Test
    void loadNamesTheFile(@TempDir Path dir) {
        Path missing = dir.resolve("pg_ident.conf");
        assertThatThrownBy(() -> IdentMap.load(missing)).hasMessageStartingWith(missing + ": cannot read: ");
    }
}
