package io.pgloom.net.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Both ends of a TLS connection over a loopback socket pair after their handshakes, or each end's failure. */
record TlsEnds(TlsWire server, TlsWire client, Throwable serverError, Throwable clientError) implements AutoCloseable {
    private static final ExecutorService THREADS = Executors.newVirtualThreadPerTaskExecutor();

    @Override
    public void close() {
        server.close();
        client.close();
    }

    static ExecutorService threads() {
        return THREADS;
    }

    /** Runs both handshakes at once (the server's on a virtual thread). */
    static TlsEnds handshake(TlsWire server, TlsWire client) throws InterruptedException {
        CompletableFuture<Throwable> serverSide = CompletableFuture.supplyAsync(() -> {
            try {
                server.handshake();
                return null;
            } catch (IOException | RuntimeException e) {
                server.close(); // as the login code will: the client then sees the connection end
                return e;
            }
        }, THREADS);
        Throwable clientError = null;
        try {
            client.handshake();
        } catch (IOException | RuntimeException e) {
            clientError = e;
            client.close();
        }
        try {
            return new TlsEnds(server, client, serverSide.get(), clientError);
        } catch (ExecutionException e) {
            throw new AssertionError(e);
        }
    }

    static TlsEnds connect(TlsContext accepting, TlsContext connecting, String host) throws Exception {
        SocketWire[] w = SocketWire.pair();
        return handshake(TlsWire.accept(w[0], accepting), TlsWire.connect(w[1], connecting, host, 5432));
    }

    /** Connects and fails the test unless both handshakes worked. */
    static TlsEnds connected(TlsContext accepting, TlsContext connecting, String host) throws Exception {
        TlsEnds ends = connect(accepting, connecting, host);
        if (ends.serverError() != null || ends.clientError() != null) {
            ends.close();
            throw new AssertionError("handshake failed: server " + ends.serverError() + ", client " + ends.clientError(),
                    ends.clientError() != null ? ends.clientError() : ends.serverError());
        }
        return ends;
    }

    static byte[] readFully(TlsWire w, int n) throws IOException {
        byte[] b = new byte[n];
        int got = 0;
        while (got < n) {
            int r = w.read(b, got, Math.min(n - got, 7000 + got % 13000)); // varied sizes: both unwrap paths
            if (r < 0) {
                throw new IOException("EOF after " + got + " of " + n + " bytes");
            }
            got += r;
        }
        return b;
    }

    static String readString(TlsWire w, int n) throws IOException {
        return new String(readFully(w, n), StandardCharsets.UTF_8);
    }
}
