package io.pgloom.server;

import io.pgloom.config.SslMode;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.PemFiles;
import io.pgloom.net.tls.TlsContext;
import io.pgloom.net.tls.TlsWire;
import io.pgloom.proto.FrontendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.PeerClosedException;
import io.pgloom.proto.SqlState;
import java.io.IOException;

/**
 * Starts TLS on a new connection to PostgreSQL before its StartupMessage, by {@code
 * server_tls_sslmode}: SSLRequest, then exactly one byte read straight from the socket (nothing
 * buffered, so bytes a man in the middle sends after the answer are never taken as part of the
 * TLS stream: CVE-2021-23222). {@code S} starts the handshake, with the configured host name for
 * SNI and {@code verify-full}; {@code N} continues in plain text unless the mode is {@code
 * require} or stricter. {@code allow} behaves like {@code prefer}; unix sockets never use TLS.
 * Runs on the server connection's thread during login.
 */
final class ServerTls {
    private ServerTls() {
    }

    /** Why TLS could not be started; the login fails with these texts. */
    static final class Refused extends Exception {
        final String closeReason;
        final String clientError;
        final String sqlState;

        Refused(String closeReason, String clientError, String sqlState) {
            super(closeReason, null, false, false);
            this.closeReason = closeReason;
            this.clientError = clientError;
            this.sqlState = sqlState;
        }
    }

    /**
     * Returns the wire to log in over: {@code plain} itself, or a TLS wire over it after a
     * finished handshake. {@code host} is the host as configured (not the resolved address).
     */
    static Wire negotiate(Wire plain, TlsContext context, String host, int port) throws IOException, Refused {
        if (!context.enabled() || plain.isUnix()) {
            return plain;
        }
        MessageBuilder m = new MessageBuilder(8);
        FrontendMessages.sslRequest(m);
        plain.write(m.buffer());
        byte[] answer = new byte[1];
        if (plain.read(answer, 0, 1) < 1) {
            throw new PeerClosedException("server closed the connection during SSL negotiation");
        }
        switch (answer[0]) {
            case 'S' -> {
                TlsWire tls = TlsWire.connect(plain, context, host, port);
                try {
                    tls.handshake();
                } catch (IOException e) {
                    String why = PemFiles.oneLine(e);
                    throw new Refused("login failed: " + why, "server login failed: " + why, SqlState.CONNECTION_FAILURE);
                }
                return tls;
            }
            case 'N' -> {
                if (context.mode().compareTo(SslMode.REQUIRE) >= 0) {
                    throw new Refused("server refused SSL", "server login failed: server refused SSL",
                            SqlState.CONNECTION_FAILURE);
                }
                return plain;
            }
            default -> throw new Refused("bad sslreq answer", "server login failed: bad answer to SSLRequest",
                    SqlState.PROTOCOL_VIOLATION);
        }
    }
}
