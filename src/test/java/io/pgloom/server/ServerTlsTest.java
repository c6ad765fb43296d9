package io.pgloom.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.config.SslMode;
import io.pgloom.config.Values;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.TlsContext;
import io.pgloom.net.tls.TlsSettings;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServerTlsTest {

    /** A server that answers with {@code answer}, records what it was sent and how much each read asked for. */
    static final class ScriptedServer extends Wire {
        final byte[] answer;
        int pos;
        final List<Integer> readLengths = new ArrayList<>();
        final ByteArrayOutputStream sent = new ByteArrayOutputStream();

        ScriptedServer(boolean unix, byte... answer) {
            super(new InetSocketAddress("127.0.0.1", 5432), null, unix, 5432);
            this.answer = answer;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            readLengths.add(len);
            if (pos == answer.length) {
                return -1;
            }
            int n = Math.min(len, answer.length - pos);
            System.arraycopy(answer, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            sent.write(b, off, len);
        }

        @Override
        public void close() {
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public SocketAddress remoteAddress() {
            return new InetSocketAddress("127.0.0.1", 5432);
        }

        @Override
        public void tune(Values general) {
        }

        @Override
        public boolean peerIsSameUser() {
            return false;
        }
    }

    private static final String SSL_REQUEST = "0000000804d2162f";

    private static TlsContext context(SslMode mode) throws IOException {
        return new TlsSettings(TlsSettings.Side.SERVERS, mode, "", "", "", "secure", "default", "").build();
    }

    @Test
    void preferAndAllowContinueInPlainTextWhenRefused() throws Exception {
        ScriptedServer s = new ScriptedServer(false, (byte) 'N');
        assertThat(ServerTls.negotiate(s, context(SslMode.PREFER), "db1", 5432)).isSameAs(s);
        assertThat(HexFormat.of().formatHex(s.sent.toByteArray())).isEqualTo(SSL_REQUEST);
        ScriptedServer allow = new ScriptedServer(false, (byte) 'N');
        assertThat(ServerTls.negotiate(allow, context(SslMode.ALLOW), "db1", 5432)).isSameAs(allow);
        assertThat(HexFormat.of().formatHex(allow.sent.toByteArray())).isEqualTo(SSL_REQUEST);
    }

    @Test
    void requireFailsWhenRefused() {
        ScriptedServer s = new ScriptedServer(false, (byte) 'N');
        assertThatThrownBy(() -> ServerTls.negotiate(s, context(SslMode.REQUIRE), "db1", 5432))
                .isInstanceOfSatisfying(ServerTls.Refused.class, e -> {
                    assertThat(e.closeReason).isEqualTo("server refused SSL");
                    assertThat(e.clientError).isEqualTo("server login failed: server refused SSL");
                });
    }

    @Test
    void exactlyOneByteIsReadSoNothingSentAfterTheAnswerIsTaken() throws Exception {
        // 'N' followed by bytes a man in the middle injected: they must stay unread (CVE-2021-23222)
        ScriptedServer s = new ScriptedServer(false, "NR\0\0\0\b\0\0\0\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        ServerTls.negotiate(s, context(SslMode.PREFER), "db1", 5432);
        assertThat(s.readLengths).containsExactly(1);
        assertThat(s.pos).isEqualTo(1);
    }

    @Test
    void anyOtherAnswerIsABadSslRequestAnswer() {
        ScriptedServer s = new ScriptedServer(false, "E\0\0\0\4".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> ServerTls.negotiate(s, context(SslMode.PREFER), "db1", 5432))
                .isInstanceOfSatisfying(ServerTls.Refused.class, e -> assertThat(e.closeReason).isEqualTo("bad sslreq answer"));
    }

    @Test
    void aClosedConnectionDuringNegotiationIsAnIoError() {
        assertThatThrownBy(() -> ServerTls.negotiate(new ScriptedServer(false), context(SslMode.PREFER), "db1", 5432))
                .isInstanceOf(IOException.class).hasMessageContaining("SSL negotiation");
    }

    @Test
    void aHandshakeThatFailsIsALoginFailureInOneLine() {
        ScriptedServer s = new ScriptedServer(false, (byte) 'S');
        assertThatThrownBy(() -> ServerTls.negotiate(s, context(SslMode.REQUIRE), "db1", 5432))
                .isInstanceOfSatisfying(ServerTls.Refused.class, e -> {
                    assertThat(e.closeReason).startsWith("login failed: TLS handshake failed: ").doesNotContain("\n");
                    assertThat(e.clientError).startsWith("server login failed: TLS handshake failed: ");
                });
    }

    @Test
    void disabledOrUnixSocketsSendNothing() throws Exception {
        ScriptedServer tcp = new ScriptedServer(false, (byte) 'S');
        assertThat(ServerTls.negotiate(tcp, context(SslMode.DISABLE), "db1", 5432)).isSameAs(tcp);
        assertThat(tcp.sent.size()).isZero();
        ScriptedServer unix = new ScriptedServer(true, (byte) 'S');
        assertThat(ServerTls.negotiate(unix, context(SslMode.REQUIRE), "db1", 5432)).isSameAs(unix);
        assertThat(unix.sent.size()).isZero();
        assertThat(unix.readLengths).isEmpty();
    }
}
