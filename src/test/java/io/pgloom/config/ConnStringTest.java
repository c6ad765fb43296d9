package io.pgloom.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ConnStringTest {
    @Test
    void plainPairs() {
        assertThat(ConnString.parse("host=127.0.0.1 port=5432 dbname=app"))
                .containsExactly(Map.entry("host", "127.0.0.1"), Map.entry("port", "5432"), Map.entry("dbname", "app"));
    }

    @Test
    void blanksAroundEqualsAndAtTheEnds() {
        assertThat(ConnString.parse("  host = x \t port=1  ")).containsExactly(Map.entry("host", "x"), Map.entry("port", "1"));
        assertThat(ConnString.parse("")).isEmpty();
        assertThat(ConnString.parse("   ")).isEmpty();
    }

    @Test
    void quotedValues() {
        assertThat(ConnString.parse("connect_query='SET a=1; SET b=2' user=u"))
                .containsExactly(Map.entry("connect_query", "SET a=1; SET b=2"), Map.entry("user", "u"));
        assertThat(ConnString.parse("a='it''s' b='back\\\\slash' c='q\\'q' d=''"))
                .containsExactly(Map.entry("a", "it's"), Map.entry("b", "back\\slash"), Map.entry("c", "q'q"), Map.entry("d", ""));
    }

    @Test
    void emptyValueNeedsQuotesAsInLibpq() {
        assertThat(ConnString.parse("password='' host=x")).containsExactly(Map.entry("password", ""), Map.entry("host", "x"));
        // libpq skips blanks after '=', so the next word is the value
        assertThat(ConnString.parse("password= host=x")).containsExactly(Map.entry("password", "host=x"));
        assertThat(ConnString.parse("password=")).containsExactly(Map.entry("password", ""));
    }

    @Test
    void laterDuplicateWins() {
        assertThat(ConnString.parse("host=a host=b")).containsExactly(Map.entry("host", "b"));
    }

    @Test
    void malformed() {
        assertThatThrownBy(() -> ConnString.parse("host")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("expected key=value");
        assertThatThrownBy(() -> ConnString.parse("=x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("expected key=value");
        assertThatThrownBy(() -> ConnString.parse("host x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ConnString.parse("host=db password S3cret-x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected key=value at character 9");
        assertThatThrownBy(() -> ConnString.parse("x password=S3cret-x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected key=value at character 1");
        assertThatThrownBy(() -> ConnString.parse("q='open")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unterminated quoted value");
        assertThatThrownBy(() -> ConnString.parse("q='ends with backslash\\")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unterminated quoted value");
    }
}
