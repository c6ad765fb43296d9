package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * psql as the client of a session pooler: several statements in one {@code -c}, {@code \copy}
 * in and out, an SQL error, and a login over pgloom's unix socket.
 */
@Timeout(value = 40, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PsqlIT {

    private static PgCluster pg;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "session")
                .set("default_pool_size", 2)
                .set("auth_type", "md5")
                .database("app", pg, "app")
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static Psql psql() {
        return Psql.to(pgloom, "app", "app", "apppass");
    }

    @Test
    void multiStatementCommand() {
        Psql.Result result = psql().run(Psql.DEFAULT_TIMEOUT, "-At", "-c", "select 1; select 2");
        assertThat(result.exitCode()).as(result.toString()).isZero();
        // psql 15+ prints the result of every statement of the string; older ones only the last.
        List<String> lines = result.out().lines().toList();
        assertThat(lines).as(result.toString()).endsWith("2");
        assertThat(lines).as(result.toString()).isSubsetOf("1", "2");

        Psql.Result several = psql().run(Psql.DEFAULT_TIMEOUT, "-At",
                "-c", "create temp table t as select g from generate_series(1, 10) g",
                "-c", "insert into t select 11; select sum(g) from t");
        assertThat(several.exitCode()).as(several.toString()).isZero();
        assertThat(several.out().lines().toList()).as(several.toString()).endsWith("66");
    }

    @Test
    void copyInAndOutWithBackslashCopy(@TempDir Path tmp) throws IOException {
        Path in = tmp.resolve("in.tsv");
        Path out = tmp.resolve("out.tsv");
        StringBuilder data = new StringBuilder();
        for (int i = 1; i <= 20_000; i++) {
            data.append(i).append('\t').append("line ").append(i).append('\n');
        }
        Files.writeString(in, data, StandardCharsets.UTF_8);

        Psql.Result result = psql().run(Duration.ofSeconds(20), "-At",
                "-c", "create temp table copy_t (id int, v text)",
                "-c", "\\copy copy_t from '" + in + "'",
                "-c", "\\copy (select id, v from copy_t order by id) to '" + out + "'",
                "-c", "select count(*) || ' ' || sum(id) from copy_t");
        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.out().lines().toList()).as(result.toString())
                .contains("COPY 20000")
                .endsWith("20000 200010000");
        assertThat(Files.readString(out, StandardCharsets.UTF_8)).isEqualTo(data.toString());
    }

    @Test
    void sqlErrorGivesExitCodeAndMessage() {
        Psql.Result direct = Psql.to(pg, "app").command("select 1/0");
        Psql.Result through = psql().command("select 1/0");
        assertThat(through.exitCode()).as(through.toString()).isEqualTo(1).isEqualTo(direct.exitCode());
        assertThat(through.stderr()).as(through.toString()).contains("ERROR:  division by zero");
        assertThat(through.stderr()).isEqualTo(direct.stderr());

        // The failed statement did not break the pooler for the next client.
        assertThat(psql().value("select 'still serving'")).isEqualTo("still serving");
    }

    @Test
    void errorStopsScriptAndSessionGoesOn() {
        Psql.Result result = psql().run(Psql.DEFAULT_TIMEOUT, "-At",
                "-c", "select 'before'",
                "-c", "select * from no_such_table",
                "-c", "select 'not reached'");
        assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
        assertThat(result.out()).isEqualTo("before");
        assertThat(result.stderr()).contains("relation \"no_such_table\" does not exist");
    }

    @Test
    void unixSocket() {
        long mark = pgloom.logSize();
        Psql socket = Psql.toSocket(pgloom, "app", "app", "apppass");
        assertThat(socket.value("select current_user || ' ' || current_database()")).isEqualTo("app app");
        // pgloom listened on the socket file itself; psql did not fall back to TCP.
        assertThat(Files.exists(pgloom.unixSocketDir().resolve(".s.PGSQL." + pgloom.port()))).isTrue();
        String login = pgloom.waitForLogAfter(mark, "login attempt: db=app user=app", Duration.ofSeconds(5));
        assertThat(login).contains("@unix");
    }

    @Test
    void wrongPasswordOverUnixSocket() {
        Psql.Result result = Psql.toSocket(pgloom, "app", "app", "not-the-password").command("select 1");
        assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
        assertThat(result.stderr()).contains("password authentication failed");
    }
}
