package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A takeover that fails before SHUTDOWN leaves the old process serving: when the admin link that
 * issued SUSPEND goes away, the old process logs {@code admin disappeared when suspended, doing
 * RESUME} and carries on with every client it had, and what clients sent meanwhile is answered.
 * Played twice: by a fake successor (a raw console client on the unix socket that sends SUSPEND
 * and closes), and by a real successor killed with SIGKILL once it has logged {@code SUSPEND
 * finished} (while it reads SHOW FDS, before SHUTDOWN).
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverAbortIT {

    private static final String DB = "takeover_abort";
    /** Idle clients that make SHOW FDS and the adoption take a while: the window for the kill. */
    private static final int IDLE_CLIENTS = 400;
    private static final int ATTEMPTS = 5;
    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private final List<PgloomProcess> started = new ArrayList<>();
    private final List<RawPg> raws = new ArrayList<>();

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
    }

    @AfterEach
    void stop() {
        raws.forEach(RawPg::close);
        started.forEach(PgloomProcess::close);
    }

    private PgloomProcess startPgloom() {
        PgloomProcess p = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("max_client_conn", IDLE_CLIENTS + 100)
                .set("auth_type", "trust")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
        started.add(p);
        return p;
    }

    @Test
    void fakeSuccessorSendsSuspendAndDisappears() throws Exception {
        PgloomProcess old = startPgloom();
        try (Connection c = connect(old)) {
            assertThat(Sql.value(c, "select 'before'")).isEqualTo("before");
            long mark = old.logSize();
            CompletableFuture<String> duringSuspend;
            try (UnixConsole console = UnixConsole.login(old, Duration.ofSeconds(30))) {
                List<RawPg.Message> answer = console.query("SUSPEND;");
                assertThat(UnixConsole.commandTag(answer)).as("SUSPEND's answer: %s", answer).isEqualTo("SUSPEND");
                old.waitForLogAfter(mark, "SUSPEND command issued", Duration.ofSeconds(10));
                // Sent while the old process reads nothing: it waits in the kernel until RESUME.
                duringSuspend = CompletableFuture.supplyAsync(() -> value(c, "select 'sent while suspended'"), ASYNC);
            }
            old.waitForLogAfter(mark, "admin disappeared when suspended, doing RESUME", Duration.ofSeconds(30));
            assertThat(duringSuspend.get(30, TimeUnit.SECONDS)).isEqualTo("sent while suspended");
            assertThat(Sql.value(c, "select 'after'")).isEqualTo("after");
        }
        assertThat(old.isAlive()).isTrue();
        try (Connection fresh = connect(old)) {
            assertThat(Sql.value(fresh, "select 'new client'")).isEqualTo("new client");
        }
        assertThat(Takeovers.show(old, "STATE")).as("SHOW STATE after the resume")
                .anySatisfy(row -> assertThat(row.values()).contains("suspended", "no"));
    }

    @Test
    void realSuccessorKilledAfterSuspendFinished() throws Exception {
        List<String> misses = new ArrayList<>();
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            PgloomProcess old = startPgloom();
            List<RawPg> idle = new ArrayList<>();
            for (int i = 0; i < IDLE_CLIENTS; i++) {
                RawPg raw = RawPg.login(old, DB, "app");
                idle.add(raw);
                raws.add(raw);
            }
            try (Connection c = connect(old)) {
                String backend = Sql.value(c, "select pg_backend_pid()");
                c.setAutoCommit(false);
                Sql.exec(c, "select 1"); // an open transaction, linked to its server during the takeover
                PgloomProcess next = PgloomProcess.start(old.configFile(), List.of("-R"));
                started.add(next);
                Wait.until("successor to log \"SUSPEND finished\"", Takeovers.TAKEOVER_TIMEOUT,
                        () -> !next.isAlive() || next.logContains("SUSPEND finished"),
                        () -> Takeovers.logs(old, next));
                next.kill9();
                String nextLog = next.log();
                if (!nextLog.contains("SUSPEND finished") || nextLog.contains("sending SHUTDOWN;")) {
                    misses.add("attempt " + attempt + ": killed too late (or it died first)\n" + Exec.tail(nextLog, 15));
                    continue;
                }
                System.out.println("attempt " + attempt + ": successor killed after \"SUSPEND finished\"\n"
                        + Exec.tail(nextLog, 8));
                old.waitForLog("admin disappeared when suspended, doing RESUME", Duration.ofSeconds(30));
                assertThat(old.isAlive()).as("old process after its successor was killed").isTrue();
                assertThat(Sql.value(c, "select pg_backend_pid()")).as("the open transaction's backend")
                        .isEqualTo(backend);
                c.commit();
                assertThat(Sql.value(c, "select 'old process serves'")).isEqualTo("old process serves");
                c.commit();
                for (int i = 0; i < idle.size(); i += idle.size() / 20) {
                    assertThat(selectOne(idle.get(i))).as("idle client %d after the resume", i).isTrue();
                }
                try (Connection fresh = connect(old)) {
                    assertThat(Sql.value(fresh, "select 'new client'")).isEqualTo("new client");
                }
                return;
            }
        }
        throw new AssertionError("the SIGKILL never landed between \"SUSPEND finished\" and \"sending SHUTDOWN;\" in "
                + ATTEMPTS + " attempts:\n" + String.join("\n", misses));
    }

    private static boolean selectOne(RawPg raw) throws IOException {
        raw.send(RawPg.query("select 1"));
        List<RawPg.Message> got = raw.readUntil('Z');
        return got.stream().noneMatch(m -> m.tag() == 'E') && got.stream().anyMatch(m -> m.tag() == 'D');
    }

    private static Connection connect(PgloomProcess p) throws SQLException {
        return Sql.connect(p, DB, "app", "apppass", "prepareThreshold=0");
    }

    private static String value(Connection c, String sql) {
        try {
            return Sql.value(c, sql);
        } catch (SQLException e) {
            throw new AssertionError(sql + " failed", e);
        }
    }
}
