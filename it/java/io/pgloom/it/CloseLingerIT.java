package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * client_close_linger: a client closed with a FATAL keeps being able to write for a moment (what
 * it writes is read and dropped) and reads the FATAL, instead of meeting a TCP reset; the socket
 * is closed once the client closes too, or when the linger time ends.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CloseLingerIT {
    private static final String DB = "linger_db";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() {
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("auth_type", "trust")
                .set("client_close_linger", 3)
                .database(DB, PgCluster.get(), "app")
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    /** pgloom's open sockets, from /proc. */
    private static long sockets() {
        return sockets(pgloom);
    }

    private static long sockets(PgloomProcess pgloom) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pgloom.pid()), "fd"))) {
            return fds.filter(f -> {
                try {
                    return Files.readSymbolicLink(f).toString().startsWith("socket:");
                } catch (IOException e) {
                    return false; // closed meanwhile
                }
            }).count();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client pgloom has closed, and how many sockets pgloom had open while it was logged in. */
    private record Refused(RawPg raw, long socketsWithIt) {
    }

    /** Logs in and sends a message pgloom must refuse; returns once pgloom has closed it. */
    private static Refused refused() throws IOException {
        return refused(pgloom);
    }

    private static Refused refused(PgloomProcess pgloom) throws IOException {
        RawPg raw = RawPg.login(pgloom, DB, "app");
        long with = sockets(pgloom);
        long mark = pgloom.logSize();
        raw.send(RawPg.message('z', RawPg.cstring("not a message")));
        pgloom.waitForLogAfter(mark, raw.logAddress().trim() + " closing because: unknown pkt", WAIT);
        return new Refused(raw, with);
    }

    @Test
    void aClientStillWritingAfterItsCloseReadsItsFatal() throws IOException {
        Refused r = refused();
        try (RawPg raw = r.raw()) {
            // pgloom has closed this client; a reset would fail these writes within a round trip
            for (int i = 0; i < 200; i++) {
                raw.send(RawPg.query("select " + i));
            }
            List<RawPg.Message> rest = raw.readUntilClosed();
            assertThat(rest).as("what the closed client reads").anySatisfy(m -> {
                assertThat(m.tag()).isEqualTo('E');
                assertThat(m.errorMessage()).startsWith("unknown pkt");
            });
        }
        Wait.until("the lingering socket closed once the client closed", WAIT, () -> sockets() < r.socketsWithIt(),
                () -> sockets() + " sockets open, " + r.socketsWithIt() + " with the client");
    }

    @Test
    void aClientThatNeverClosesIsClosedWhenTheLingerTimeEnds() throws IOException {
        long start = System.nanoTime();
        Refused r = refused();
        try (RawPg raw = r.raw()) {
            raw.readUntilClosed(); // the FATAL, then end of file: pgloom shut its side down
            assertThat(sockets()).as("the socket lingers").isEqualTo(r.socketsWithIt());
            Wait.until("the socket closed after client_close_linger", WAIT, () -> sockets() < r.socketsWithIt(),
                    () -> sockets() + " sockets open, " + r.socketsWithIt() + " with the client");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(2900));
        }
    }

    /** No more sockets linger than max_client_conn: beyond it a refused client is closed at once. */
    @Test
    void atMostMaxClientConnSocketsLinger() throws IOException {
        try (PgloomProcess small = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("auth_type", "trust")
                .set("client_close_linger", 30)
                .set("max_client_conn", 2)
                .database(DB, PgCluster.get(), "app")
                .user("app", "apppass")
                .start()) {
            Refused first = refused(small);
            Refused second = refused(small);
            try (RawPg a = first.raw(); RawPg b = second.raw()) {
                Refused third = refused(small);
                try (RawPg c = third.raw()) {
                    Wait.until("the third refused client closed at once, the first two lingering", WAIT,
                            () -> sockets(small) == third.socketsWithIt() - 1,
                            () -> sockets(small) + " sockets open, " + third.socketsWithIt() + " with the third client");
                    assertThat(c.readUntilClosed()).as("the third client's FATAL")
                            .anySatisfy(m -> assertThat(m.tag()).isEqualTo('E'));
                }
            }
        }
    }
}
