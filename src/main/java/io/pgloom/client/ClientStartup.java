package io.pgloom.client;

import io.pgloom.config.SslMode;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.PemFiles;
import io.pgloom.net.tls.TlsContext;
import io.pgloom.net.tls.TlsWire;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.ProtocolViolationException;
import io.pgloom.proto.SqlState;
import io.pgloom.proto.StartupPacket;
import java.io.IOException;
import java.util.Arrays;

/**
 * Reads a client's first packets up to its StartupMessage or CancelRequest, starting TLS on the
 * way: SSLRequest is answered {@code S} (then the TLS handshake) when {@code client_tls_sslmode}
 * is not disable and the client came over TCP, else {@code N}; GSSENCRequest is answered {@code
 * N}; a ClientHello as the very first bytes is direct TLS (PostgreSQL 17's {@code
 * sslnegotiation=direct}). With {@code client_tls_sslmode} require or stricter a StartupMessage
 * over plain TCP is refused ("SSL required"); unix sockets never use TLS. Takes the clients' TLS
 * context once, so a RELOAD during the login does not matter. Runs on the client's thread.
 */
final class ClientStartup {
    private final ClientConnection client;
    private final TlsContext context;
    /** Whether this connection may start TLS: enabled, and not a unix socket. */
    private final boolean tlsAllowed;

    ClientStartup(ClientConnection client) {
        this.client = client;
        this.context = client.services().tls().clients();
        this.tlsAllowed = context.enabled() && !client.wire().isUnix();
    }

    /** The StartupMessage or CancelRequest, after any TLS negotiation. */
    StartupPacket read() throws IOException {
        if (firstByteStartsTls()) {
            startDirectTls();
        }
        while (true) {
            MessageStream in = client.stream();
            StartupPacket sp = StartupPacket.parse(in.readUntyped(StartupPacket.MAX_LENGTH));
            if (sp.isSslRequest() || sp.isGssEncRequest()) {
                answer(sp, in);
                continue;
            }
            if (!sp.isCancel() && !isTls() && !client.wire().isUnix() && context.mode().compareTo(SslMode.REQUIRE) >= 0) {
                throw new ClientConnection.ClientClosing("SSL required", true, SqlState.INVALID_AUTHORIZATION);
            }
            return sp;
        }
    }

    /** Whether the connection runs over TLS by now. */
    boolean isTls() {
        return client.wire() instanceof TlsWire;
    }

    private boolean firstByteStartsTls() throws IOException {
        MessageStream in = client.stream();
        if (in.available() == 0) {
            in.fill();
        }
        return TlsWire.looksLikeTlsHandshake(in.array()[in.start()]);
    }

    /** The client sent a ClientHello instead of a startup packet. */
    private void startDirectTls() throws IOException {
        if (!tlsAllowed) {
            // it speaks TLS: a plain ErrorResponse would be noise to it
            throw new ClientConnection.ClientClosing("direct TLS not enabled", false, SqlState.PROTOCOL_VIOLATION);
        }
        MessageStream in = client.stream();
        byte[] prefix = Arrays.copyOfRange(in.array(), in.start(), in.end());
        in.advance(prefix.length);
        handshake(TlsWire.acceptDirect(client.wire(), context, prefix, 0, prefix.length));
    }

    /**
     * SSLRequest or GSSENCRequest. Nothing may follow it before the answer: bytes sent ahead
     * would otherwise be read as if they had come through TLS (CVE-2021-23222).
     */
    private void answer(StartupPacket sp, MessageStream in) throws IOException {
        if (in.available() > 0) {
            throw new ProtocolViolationException("received unencrypted data after SSL request");
        }
        if (isTls()) {
            throw new ProtocolViolationException((sp.isSslRequest() ? "SSLRequest" : "GSSENCRequest")
                    + " on a connection that is already encrypted");
        }
        Wire wire = client.wire();
        if (sp.isSslRequest() && tlsAllowed) {
            wire.write(new byte[] {'S'});
            handshake(TlsWire.accept(wire, context));
        } else {
            wire.write(new byte[] {'N'});
        }
    }

    private void handshake(TlsWire tls) {
        try {
            tls.handshake();
        } catch (IOException e) {
            throw new ClientConnection.ClientClosing(PemFiles.oneLine(e), false, SqlState.PROTOCOL_VIOLATION);
        }
        client.startTls(tls);
    }
}
