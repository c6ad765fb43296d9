package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A takeover with 5,000 idle clients: raw sockets that logged in (trust) and then sit idle. The
 * takeover must hand every one of them over, the pause clients saw (the successor's {@code clients
 * waited X ms}, from its connect to the old process until it resumed) is printed, and afterwards a
 * sample of 100 of those sockets still run {@code select 1} on the new process.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverManyClientsIT {

    private static final String DB = "takeover_many";
    private static final int CLIENTS = 5_000;
    private static final int SAMPLE = 100;
    /** Logins run this many at a time: enough to be quick, few enough for 2 cores. */
    private static final int LOGIN_THREADS = 8;

    private static PgCluster pg;
    private PgloomProcess current;
    private final List<RawPg> clients = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
    }

    @AfterEach
    void stop() {
        clients.forEach(RawPg::close);
        if (current != null) {
            current.close();
        }
    }

    @Test
    void fiveThousandIdleClientsAreHandedOver() throws Exception {
        long limit = Takeovers.openFileLimit();
        // This JVM holds one descriptor per client; each pgloom process one per client and per server.
        assumeTrue(limit >= CLIENTS + 1_000, "open file limit " + limit + " is too low for " + CLIENTS
                + " clients (needs " + (CLIENTS + 1_000) + "; raise ulimit -n)");
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 5)
                .set("max_client_conn", 6_000)
                .set("auth_type", "trust")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();

        long loginStart = System.nanoTime();
        try (ExecutorService threads = Executors.newFixedThreadPool(LOGIN_THREADS, Thread.ofVirtual().factory())) {
            List<Future<?>> logins = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                logins.add(threads.submit(() -> clients.add(RawPg.login(current, DB, "app"))));
            }
            for (Future<?> f : logins) {
                f.get(120, TimeUnit.SECONDS);
            }
        }
        System.out.printf("%d clients logged in through pgloom in %d ms%n", clients.size(),
                (System.nanoTime() - loginStart) / 1_000_000);
        assertThat(clients).hasSize(CLIENTS);
        PgloomProcess first = current;
        Wait.until("SHOW CLIENTS to list all " + CLIENTS + " clients", Duration.ofSeconds(60),
                () -> Takeovers.clientsOf(first, DB) == CLIENTS);

        Takeovers.Result r = Takeovers.takeOver(current);
        current = r.successor();
        System.out.printf("TAKEOVER WITH %d IDLE CLIENTS: clients waited %d ms (old process: SUSPEND finished in"
                + " %d ms); %s%n", CLIENTS, r.clientsWaitedMs(), r.oldSuspendMs(), r);
        System.out.println("old process's takeover log:\n" + Takeovers.suspendLines(first));
        System.out.println("successor's takeover log:\n" + takeoverLines(current));
        assertThat(r.clients()).as("clients handed over").isEqualTo(CLIENTS);

        int step = CLIENTS / SAMPLE;
        for (int i = 0; i < CLIENTS; i += step) {
            RawPg raw = clients.get(i);
            assertThat(selectOne(raw)).as("client %d (local port %d) runs select 1 after the takeover", i,
                    raw.localPort()).isEqualTo("1");
        }
        assertThat(Takeovers.clientsOf(current, DB)).as("clients listed by the successor").isEqualTo(CLIENTS);
    }

    /** Sends {@code select 1} and returns the value of its one row ("" when none came). */
    private static String selectOne(RawPg raw) throws IOException {
        raw.send(RawPg.query("select 1"));
        String value = "";
        for (RawPg.Message m : raw.readUntil('Z')) {
            if (m.tag() == 'E') {
                throw new AssertionError("select 1 failed: " + m);
            }
            if (m.tag() == 'D') {
                byte[] b = m.body();
                int len = java.nio.ByteBuffer.wrap(b, 2, 4).getInt();
                value = new String(b, 6, len, java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return value;
    }

    private static String takeoverLines(PgloomProcess p) {
        StringBuilder out = new StringBuilder();
        for (String line : p.log().split("\n")) {
            if (line.contains(" LOG login OK") || line.contains(" LOG SUSPEND") || line.contains(" LOG SHOW FDS")
                    || line.contains(" LOG sending SHUTDOWN") || line.contains(" LOG old process")
                    || line.contains(" LOG takeover done") || line.contains(" LOG process up")
                    || line.contains("pidfile")) {
                out.append("  ").append(line).append('\n');
            }
        }
        return out.toString();
    }
}
