package io.pgloom.proto;

import static io.pgloom.proto.Hex.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Framing of protocol v3 messages fed in chunks, as Helidon's DataReader tests feed a parser. */
class MessageStreamTest {
    private static final int NO_LIMIT = Integer.MAX_VALUE;

    private static byte[] message(char tag, byte[] body) {
        MessageBuilder b = new MessageBuilder();
        b.begin((byte) tag).bytes(body).end();
        return b.toArray();
    }

    private static byte[] filled(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + 1);
        }
        return b;
    }

    private static byte[] body(MessageStream s) {
        return Arrays.copyOfRange(s.array(), s.bodyOffset(), s.bodyOffset() + s.bodyLength());
    }

    @ParameterizedTest(name = "chunks of {0}")
    @ValueSource(ints = {1, 2, 3, 5, 7, 64, 1 << 20})
    void messagesSplitAcrossReads(int chunk) throws IOException {
        byte[] big = filled(300);
        byte[] stream = bytes(bytes("5a 00000005 49"), bytes("43 0000000d", "'SELECT 1", "00"), message('D', big),
                bytes("49 00000004"));
        MessageStream s = new MessageStream(ChunkSource.of(stream, chunk), 16, NO_LIMIT);

        s.nextMessage(NO_LIMIT);
        assertThat(s.tag()).isEqualTo(BackendTag.READY_FOR_QUERY);
        assertThat(body(s)).containsExactly('I');
        s.consume();

        s.nextMessage(NO_LIMIT);
        assertThat(s.tag()).isEqualTo(BackendTag.COMMAND_COMPLETE);
        assertThat(s.body("CommandComplete").cstring()).isEqualTo("SELECT 1");
        s.consume();

        s.nextMessage(NO_LIMIT);
        assertThat(s.tag()).isEqualTo(BackendTag.DATA_ROW);
        assertThat(body(s)).isEqualTo(big);
        s.consume();

        s.nextMessage(NO_LIMIT);
        assertThat(s.tag()).isEqualTo(BackendTag.EMPTY_QUERY_RESPONSE);
        assertThat(s.bodyLength()).isZero();
        s.consume();

        assertThat(s.bytesRead()).isEqualTo(stream.length);
        assertThat(s.available()).isZero();
        assertThatThrownBy(() -> s.nextMessage(NO_LIMIT)).isInstanceOf(PeerClosedException.class).hasMessage("eof");
    }

    @Test
    void messageLargerThanTheBufferGrowsItThenItShrinksBack() throws IOException {
        byte[] big = filled(100);
        ChunkSource src = ChunkSource.of(message('D', big), 7);
        MessageStream s = new MessageStream(src, 16, NO_LIMIT);
        assertThat(s.capacity()).isEqualTo(16);
        s.nextMessage(NO_LIMIT);
        assertThat(s.capacity()).isGreaterThanOrEqualTo(105);
        assertThat(body(s)).isEqualTo(big);
        s.consume();
        assertThat(s.capacity()).isEqualTo(16);
        assertThat(s.available()).isZero();
    }

    @Test
    void messageAfterALargeOneIsReadIntoTheNormalBuffer() throws IOException {
        byte[] big = filled(100);
        MessageStream s = new MessageStream(ChunkSource.of(bytes(message('D', big), bytes("5a 00000005 49")), 1 << 20), 16,
                NO_LIMIT);
        s.nextMessage(NO_LIMIT);
        assertThat(body(s)).isEqualTo(big);
        s.consume();
        s.nextMessage(NO_LIMIT);
        assertThat(s.tag()).isEqualTo(BackendTag.READY_FOR_QUERY);
        assertThat(body(s)).containsExactly('I');
        s.consume();
        assertThat(s.capacity()).isEqualTo(16);
    }

    @Test
    void messagesThatFitDoNotGrowTheBuffer() throws IOException {
        byte[] one = message('d', filled(5));
        byte[] stream = new byte[0];
        for (int i = 0; i < 50; i++) {
            stream = bytes(stream, one);
        }
        MessageStream s = new MessageStream(ChunkSource.of(stream, 16), 16, NO_LIMIT);
        for (int i = 0; i < 50; i++) {
            s.nextMessage(NO_LIMIT);
            assertThat(body(s)).isEqualTo(filled(5));
            s.consume();
            assertThat(s.capacity()).isEqualTo(16);
        }
    }

    @Test
    void lengthBelowFourIsRefusedBeforeReadingTheBody() {
        for (String length : new String[] {"00000003", "00000000", "80000000", "ffffffff"}) {
            ChunkSource src = ChunkSource.exactly(bytes("51", length), 1);
            MessageStream s = new MessageStream(src, 16, NO_LIMIT);
            assertThatThrownBy(() -> s.nextMessage(NO_LIMIT)).as(length)
                    .isInstanceOf(ProtocolViolationException.class)
                    .hasMessageStartingWith("invalid message length ");
            assertThat(s.capacity()).isEqualTo(16);
        }
    }

    @Test
    void lengthAboveMaxPacketSizeIsRefusedBeforeAllocation() {
        ChunkSource src = ChunkSource.exactly(bytes("51 7fffffff"), 1);
        MessageStream s = new MessageStream(src, 16, 1000);
        assertThatThrownBy(() -> s.nextMessage(NO_LIMIT)).isInstanceOf(ProtocolViolationException.class)
                .hasMessage("message too large (2147483648 bytes, max_packet_size 1000)");
        assertThat(s.capacity()).isEqualTo(16);
        assertThat(src.delivered()).isEqualTo(5);
    }

    @Test
    void maxPacketSizeCountsTheWholeMessage() throws IOException {
        byte[] exactlyMax = message('D', filled(1000 - 5));
        MessageStream ok = new MessageStream(ChunkSource.of(exactlyMax, 64), 16, 1000);
        ok.nextMessage(NO_LIMIT);
        assertThat(ok.bodyLength()).isEqualTo(995);

        byte[] oneMore = message('D', filled(1000 - 4));
        MessageStream tooBig = new MessageStream(ChunkSource.exactly(Arrays.copyOf(oneMore, 5), 64), 16, 1000);
        assertThatThrownBy(() -> tooBig.nextMessage(NO_LIMIT)).isInstanceOf(ProtocolViolationException.class)
                .hasMessageStartingWith("message too large");
        assertThat(tooBig.capacity()).isEqualTo(16);
    }

    @Test
    void loginLimitIsCheckedBeforeAllocation() {
        ChunkSource src = ChunkSource.exactly(bytes("70 00001000"), 5);
        MessageStream s = new MessageStream(src, 16, NO_LIMIT);
        assertThatThrownBy(() -> s.nextMessage(1000)).isInstanceOf(ProtocolViolationException.class)
                .hasMessage("message too large (4097 bytes) during login");
        assertThat(s.capacity()).isEqualTo(16);
    }

    @Test
    void eofInsideAMessageIsAnUnexpectedEof() {
        byte[] truncated = Arrays.copyOf(bytes("43 0000000d", "'SELECT 1", "00"), 9);
        MessageStream s = new MessageStream(ChunkSource.of(truncated, 1), 16, NO_LIMIT);
        assertThatThrownBy(() -> s.nextMessage(NO_LIMIT)).isInstanceOf(PeerClosedException.class)
                .hasMessage("unexpected eof mid-message");
        MessageStream header = new MessageStream(ChunkSource.of(bytes("43 0000"), 1), 16, NO_LIMIT);
        assertThatThrownBy(() -> header.nextMessage(NO_LIMIT)).isInstanceOf(PeerClosedException.class)
                .hasMessage("unexpected eof mid-message");
        MessageStream empty = new MessageStream(ChunkSource.of(new byte[0], 1), 16, NO_LIMIT);
        assertThatThrownBy(() -> empty.nextMessage(NO_LIMIT)).isInstanceOf(PeerClosedException.class).hasMessage("eof");
    }

    @Test
    void ioErrorsOfTheSourcePassThrough() {
        MessageStream s = new MessageStream((b, off, len) -> {
            throw new IOException("connection reset");
        }, 16, NO_LIMIT);
        assertThatThrownBy(() -> s.nextMessage(NO_LIMIT)).isInstanceOf(IOException.class).hasMessage("connection reset");
    }

    @Test
    void readUntypedStartupPacketOneByteAtATime() throws IOException {
        byte[] packet = bytes("00000014 00030000", "'user", "00", "'alice", "00", "00");
        byte[] stream = bytes(packet, bytes("70 00000007", "'pw", "00"));
        MessageStream s = new MessageStream(ChunkSource.of(stream, 1), 16, NO_LIMIT);
        byte[] body = s.readUntyped(StartupPacket.MAX_LENGTH);
        assertThat(body).isEqualTo(Arrays.copyOfRange(packet, 4, packet.length));
        assertThat(StartupPacket.parse(body).parameters()).containsEntry("user", "alice");
        s.nextMessage(NO_LIMIT);
        assertThat(s.tag()).isEqualTo(FrontendTag.PASSWORD);
        assertThat(s.body("PasswordMessage").cstring()).isEqualTo("pw");
        s.consume();
        assertThat(s.capacity()).isEqualTo(16);
    }

    @Test
    void readUntypedLargerThanTheBuffer() throws IOException {
        byte[] value = new byte[500];
        Arrays.fill(value, (byte) 'v');
        MessageBuilder b = new MessageBuilder();
        b.beginUntyped().int32(FrontendTag.PROTOCOL_3_0).cstring("k").bytes(value).int8(0).int8(0).end();
        byte[] packet = b.toArray();
        assertThat(MessageBuilder.getInt(packet, 0)).isEqualTo(packet.length);
        MessageStream s = new MessageStream(ChunkSource.of(packet, 3), 16, NO_LIMIT);
        byte[] body = s.readUntyped(StartupPacket.MAX_LENGTH);
        assertThat(body).hasSize(packet.length - 4);
        assertThat(s.capacity()).isEqualTo(16);
    }

    @Test
    void readUntypedLimits() throws IOException {
        for (String length : new String[] {"00000007", "00000000", "80000000"}) {
            MessageStream s = new MessageStream(ChunkSource.exactly(bytes(length), 1), 16, NO_LIMIT);
            assertThatThrownBy(() -> s.readUntyped(StartupPacket.MAX_LENGTH)).as(length)
                    .isInstanceOf(ProtocolViolationException.class)
                    .hasMessageStartingWith("invalid startup packet length");
        }
        MessageStream tooLong = new MessageStream(ChunkSource.exactly(bytes("00002711"), 1), 16, NO_LIMIT);
        assertThatThrownBy(() -> tooLong.readUntyped(10_000)).isInstanceOf(ProtocolViolationException.class)
                .hasMessage("startup packet too large");
        assertThat(tooLong.capacity()).isEqualTo(16);

        byte[] smallest = bytes("00000008 04d2162f");
        MessageStream ok = new MessageStream(ChunkSource.of(smallest, 1), 16, NO_LIMIT);
        assertThat(ok.readUntyped(8)).isEqualTo(bytes("04d2162f"));
        assertThat(StartupPacket.parse(bytes("04d2162f")).isSslRequest()).isTrue();
    }

    @Test
    void readUntypedEofMidPacket() {
        MessageStream s = new MessageStream(ChunkSource.of(bytes("00000010 04d2162e 0000"), 2), 16, NO_LIMIT);
        assertThatThrownBy(() -> s.readUntyped(StartupPacket.MAX_LENGTH)).isInstanceOf(PeerClosedException.class)
                .hasMessage("unexpected eof mid-message");
    }

    @Test
    void dataPathPeeksAndAdvancesOverWholeMessages() throws IOException {
        byte[] stream = bytes("5a 00000005 49", "43 00000005 00", "49 00000004");
        MessageStream s = new MessageStream(ChunkSource.of(stream, 1 << 20), 64, NO_LIMIT);
        s.fill();
        assertThat(s.available()).isEqualTo(stream.length);
        int pos = s.start();
        int sizes = 0;
        for (char expected : new char[] {'Z', 'C', 'I'}) {
            assertThat(s.array()[pos]).isEqualTo((byte) expected);
            int size = s.peekSizeAt(pos);
            pos += size;
            sizes += size;
        }
        assertThat(sizes).isEqualTo(stream.length);
        assertThat(s.peekTag()).isEqualTo((byte) 'Z');
        assertThat(s.peekSize()).isEqualTo(6);
        s.advance(sizes);
        assertThat(s.available()).isZero();
        assertThat(s.start()).isZero();
        assertThat(s.end()).isZero();
    }
}
