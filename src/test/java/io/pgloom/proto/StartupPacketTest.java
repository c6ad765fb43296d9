package io.pgloom.proto;

import static io.pgloom.proto.Hex.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The first packet of a connection, as bytes after the 4-byte length. */
class StartupPacketTest {

    @Test
    void protocol30WithParametersInOrder() {
        StartupPacket p = StartupPacket.parse(bytes("00030000", "'user", "00", "'alice", "00", "'database", "00", "'app", "00",
                "'application_name", "00", "00", "00"));
        assertThat(p.code()).isEqualTo(FrontendTag.PROTOCOL_3_0);
        assertThat(p.majorVersion()).isEqualTo(3);
        assertThat(p.minorVersion()).isZero();
        assertThat(p.parameters()).containsExactly(Map.entry("user", "alice"), Map.entry("database", "app"),
                Map.entry("application_name", ""));
        assertThat(p.isCancel() || p.isSslRequest() || p.isGssEncRequest()).isFalse();
        assertThat(p.cancelKey()).isZero();
    }

    @Test
    void parametersAreUtf8() {
        StartupPacket p = StartupPacket.parse(bytes("00030000", "'user", "00", "c3a9 6c c3a8 7665", "00", "00"));
        assertThat(p.parameters()).containsEntry("user", "élève");
    }

    @Test
    void noParametersAtAll() {
        assertThat(StartupPacket.parse(bytes("00030000 00")).parameters()).isEmpty();
    }

    @Test
    void newerMinorVersionIsParsedForNegotiation() {
        StartupPacket p = StartupPacket.parse(bytes("00030002", "'user", "00", "'u", "00", "'_pq_.opt", "00", "'1", "00", "00"));
        assertThat(p.majorVersion()).isEqualTo(3);
        assertThat(p.minorVersion()).isEqualTo(2);
        assertThat(p.parameters()).containsKeys("user", "_pq_.opt");
    }

    @Test
    void parametersCannotBeModified() {
        StartupPacket p = StartupPacket.parse(bytes("00030000", "'user", "00", "'u", "00", "00"));
        assertThatThrownBy(() -> p.parameters().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void duplicateParameterIsRefused() {
        assertThatThrownBy(() -> StartupPacket.parse(bytes("00030000", "'user", "00", "'a", "00", "'user", "00", "'b", "00", "00")))
                .isInstanceOf(ProtocolViolationException.class)
                .hasMessage("duplicate startup parameter: user");
    }

    @Test
    void missingTerminatorIsRefused() {
        assertThatThrownBy(() -> StartupPacket.parse(bytes("00030000", "'user", "00", "'alice", "00")))
                .isInstanceOf(ProtocolViolationException.class);
        assertThatThrownBy(() -> StartupPacket.parse(bytes("00030000", "'user", "00", "'alice")))
                .isInstanceOf(ProtocolViolationException.class)
                .hasMessage("unterminated string in startup packet");
        assertThatThrownBy(() -> StartupPacket.parse(bytes("00030000", "'user")))
                .isInstanceOf(ProtocolViolationException.class);
        assertThatThrownBy(() -> StartupPacket.parse(bytes("00030000"))).isInstanceOf(ProtocolViolationException.class);
    }

    @Test
    void sslRequest() {
        StartupPacket p = StartupPacket.parse(bytes("04d2162f"));
        assertThat(p.isSslRequest()).isTrue();
        assertThat(p.isGssEncRequest() || p.isCancel()).isFalse();
        assertThat(p.parameters()).isEmpty();
    }

    @Test
    void gssEncRequest() {
        StartupPacket p = StartupPacket.parse(bytes("04d21630"));
        assertThat(p.isGssEncRequest()).isTrue();
        assertThat(p.isSslRequest() || p.isCancel()).isFalse();
    }

    @Test
    void cancelRequestKeyIsProcessIdThenSecret() {
        StartupPacket p = StartupPacket.parse(bytes("04d2162e 00000102 fedcba98"));
        assertThat(p.isCancel()).isTrue();
        assertThat(p.cancelKey()).isEqualTo(0x00000102_fedcba98L);
        StartupPacket high = StartupPacket.parse(bytes("04d2162e 80000000 00000001"));
        assertThat(high.cancelKey()).isEqualTo(0x80000000_00000001L);
        StartupPacket ones = StartupPacket.parse(bytes("04d2162e ffffffff ffffffff"));
        assertThat(ones.cancelKey()).isEqualTo(-1L);
    }

    @Test
    void cancelKeyRoundTripsThroughTheEncoder() {
        long key = 0x1234_5678_9abc_def0L;
        MessageBuilder b = new MessageBuilder();
        FrontendMessages.cancelRequest(b, key);
        byte[] packet = b.toArray();
        StartupPacket p = StartupPacket.parse(java.util.Arrays.copyOfRange(packet, 4, packet.length));
        assertThat(p.cancelKey()).isEqualTo(key);
    }

    @Test
    void truncatedCancelRequestIsRefused() {
        assertThatThrownBy(() -> StartupPacket.parse(bytes("04d2162e 00000102 fedc")))
                .isInstanceOf(ProtocolViolationException.class)
                .hasMessage("truncated startup packet");
    }

    @Test
    void protocolVersion2IsRefused() {
        assertThatThrownBy(() -> StartupPacket.parse(bytes("00020000", "'user", "00")))
                .isInstanceOf(ProtocolViolationException.class)
                .hasMessage("old V2 protocol not supported");
    }

    @Test
    void otherProtocolVersionsAreRefused() {
        assertThatThrownBy(() -> StartupPacket.parse(bytes("00040000 00")))
                .isInstanceOf(ProtocolViolationException.class)
                .hasMessage("unsupported protocol version 4.0");
        assertThatThrownBy(() -> StartupPacket.parse(bytes("04d21631")))
                .isInstanceOf(ProtocolViolationException.class)
                .hasMessage("unsupported protocol version 1234.5681");
    }

    @Test
    void trailingBytesAfterARequestAreRefused() {
        for (String packet : new String[] {"04d2162f 00", "04d21630 00000000", "04d2162e 00000001 00000002 ff",
            "00030000 00 00", "00030000 " + "75736572 00 75 00 00 78"}) {
            assertThatThrownBy(() -> StartupPacket.parse(bytes(packet))).as(packet)
                    .isInstanceOf(ProtocolViolationException.class)
                    .hasMessage("invalid startup packet layout");
        }
    }

    @Test
    void emptyOrShortBodyIsRefused() {
        assertThatThrownBy(() -> StartupPacket.parse(new byte[0])).isInstanceOf(ProtocolViolationException.class);
        assertThatThrownBy(() -> StartupPacket.parse(bytes("0003"))).isInstanceOf(ProtocolViolationException.class);
    }
}
