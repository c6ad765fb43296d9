package io.pgloom.net.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.config.SslMode;
import io.pgloom.net.ReadInterruptedException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TlsWire over in-memory pipes, where the test decides when bytes arrive. */
@Timeout(60)
class TlsWireMemoryTest {
    @TempDir
    static Path dir;
    static TlsContext accepting;
    static TlsContext connecting;

    @BeforeAll
    static void setUp() throws Exception {
        TestPki pki = new TestPki(dir);
        accepting = new TlsSettings(TlsSettings.Side.CLIENTS, SslMode.REQUIRE, pki.serverKey.toString(), pki.serverCert.toString(),
                "", "secure", "default", "").build();
        connecting = new TlsSettings(TlsSettings.Side.SERVERS, SslMode.VERIFY_FULL, "", "", pki.caCert.toString(), "secure",
                "default", "").build();
    }

    MemoryWire.Pipe toServer = new MemoryWire.Pipe();
    MemoryWire.Pipe toClient = new MemoryWire.Pipe();

    TlsEnds connect() throws Exception {
        TlsEnds e = TlsEnds.handshake(TlsWire.accept(new MemoryWire(toServer, toClient), accepting),
                TlsWire.connect(new MemoryWire(toClient, toServer), connecting, "localhost", 5432));
        assertThat(e.serverError()).isNull();
        assertThat(e.clientError()).isNull();
        return e;
    }

    @Test
    void anInterruptedReadLosesNothingEvenInsideARecord() throws Exception {
        try (TlsEnds e = connect()) {
            e.client().write("the whole message".getBytes(StandardCharsets.UTF_8));
            byte[] record = toServer.takeAtLeast(1);
            assertThat(record.length).isGreaterThan(17 + 5);
            toServer.put(record, 0, record.length / 2);

            CompletableFuture<Integer> blocked = CompletableFuture.supplyAsync(() -> {
                try {
                    return e.server().read(new byte[100], 0, 100);
                } catch (java.io.IOException x) {
                    throw new RuntimeException(x);
                }
            }, TlsEnds.threads());
            toServer.awaitEmpty(); // the half record is inside the TlsWire now
            assertThat(e.server().interruptRead()).isTrue();
            assertThatThrownBy(blocked::get).isInstanceOf(ExecutionException.class)
                    .hasRootCauseInstanceOf(ReadInterruptedException.class);

            toServer.put(record, record.length / 2, record.length - record.length / 2);
            assertThat(TlsEnds.readString(e.server(), 17)).isEqualTo("the whole message");
        }
    }

    @Test
    void bufferLendingWaitsOnTheSocketWhenNothingIsBuffered() throws Exception {
        try (TlsEnds e = connect()) {
            assertThat(e.server().wouldWait()).isTrue();
            CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
                try {
                    e.server().awaitReadable();
                } catch (java.io.IOException x) {
                    throw new RuntimeException(x);
                }
            }, TlsEnds.threads());
            e.client().write("ping".getBytes(StandardCharsets.UTF_8));
            waiting.get();
            assertThat(e.server().wouldWait()).isFalse();
            byte[] b = new byte[2];
            assertThat(e.server().read(b, 0, 2)).isEqualTo(2);
            // plaintext left over in the wire: no waiting, and awaitReadable returns at once
            assertThat(e.server().wouldWait()).isFalse();
            e.server().awaitReadable();
            assertThat(TlsEnds.readString(e.server(), 2)).isEqualTo("ng");
            assertThat(e.server().wouldWait()).isTrue();
        }
    }

    @Test
    void recordsSplitAnywhereAreReassembled() throws Exception {
        try (TlsEnds e = connect()) {
            byte[] payload = new byte[100_000];
            Arrays.fill(payload, (byte) 'x');
            e.client().write(payload);
            byte[] wire = toServer.takeAtLeast(payload.length);
            CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    return TlsEnds.readFully(e.server(), payload.length);
                } catch (java.io.IOException x) {
                    throw new RuntimeException(x);
                }
            }, TlsEnds.threads());
            for (int off = 0; off < wire.length; off += 3) { // three bytes at a time
                toServer.put(wire, off, Math.min(3, wire.length - off));
            }
            assertThat(reader.get()).isEqualTo(payload);
        }
    }
}
