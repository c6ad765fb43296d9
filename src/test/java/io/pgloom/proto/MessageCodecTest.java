package io.pgloom.proto;

import static io.pgloom.proto.Hex.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes for every encoder of {@link BackendMessages} and {@link FrontendMessages}, written
 * by hand from the PostgreSQL protocol documentation (Message Formats): type byte, Int32 length
 * counting itself but not the type byte, then the fields.
 */
class MessageCodecTest {

    private static void encodes(Consumer<MessageBuilder> encoder, byte[] expected) {
        MessageBuilder b = new MessageBuilder(1);
        encoder.accept(b);
        assertThat(b.toArray()).as("%s", Hex.show(b.toArray())).isEqualTo(expected);
        assertThat(b.size()).isEqualTo(expected.length);
        // the same bytes after something else in the same builder, and from a roomy builder
        MessageBuilder twice = new MessageBuilder();
        BackendMessages.emptyQueryResponse(twice);
        encoder.accept(twice);
        assertThat(twice.toArray()).isEqualTo(bytes("49 00000004", expected));
    }

    // ---------------------------------------------------------------- backend

    @Test
    void authenticationOk() {
        encodes(BackendMessages::authOk, bytes("52 00000008 00000000"));
    }

    @Test
    void authenticationCleartextPassword() {
        encodes(BackendMessages::authCleartext, bytes("52 00000008 00000003"));
    }

    @Test
    void authenticationMd5Password() {
        encodes(b -> BackendMessages.authMd5(b, new byte[] {1, 2, 3, (byte) 0xff}), bytes("52 0000000c 00000005 010203ff"));
    }

    @Test
    void authenticationSasl() {
        encodes(b -> BackendMessages.authSasl(b, List.of("SCRAM-SHA-256")),
                bytes("52 00000017 0000000a", "'SCRAM-SHA-256", "00 00"));
        encodes(b -> BackendMessages.authSasl(b, List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
                bytes("52 0000002a 0000000a", "'SCRAM-SHA-256-PLUS", "00", "'SCRAM-SHA-256", "00 00"));
    }

    @Test
    void authenticationSaslContinueAndFinal() {
        encodes(b -> BackendMessages.authSaslContinue(b, "r=abc"), bytes("52 0000000d 0000000b", "'r=abc"));
        encodes(b -> BackendMessages.authSaslFinal(b, "v=xyz"), bytes("52 0000000d 0000000c", "'v=xyz"));
    }

    @Test
    void parameterStatus() {
        encodes(b -> BackendMessages.parameterStatus(b, "client_encoding", "UTF8"),
                bytes("53 00000019", "'client_encoding", "00", "'UTF8", "00"));
        encodes(b -> BackendMessages.parameterStatus(b, "", ""), bytes("53 00000006 00 00"));
    }

    @Test
    void backendKeyData() {
        encodes(b -> BackendMessages.backendKeyData(b, 0x0102030405060708L), bytes("4b 0000000c 01020304 05060708"));
        encodes(b -> BackendMessages.backendKeyData(b, 0xfedcba9887654321L), bytes("4b 0000000c fedcba98 87654321"));
    }

    @Test
    void readyForQuery() {
        encodes(b -> BackendMessages.readyForQuery(b, 'I'), bytes("5a 00000005 49"));
        encodes(b -> BackendMessages.readyForQuery(b, 'T'), bytes("5a 00000005 54"));
        encodes(b -> BackendMessages.readyForQuery(b, 'E'), bytes("5a 00000005 45"));
    }

    @Test
    void commandComplete() {
        encodes(b -> BackendMessages.commandComplete(b, "SELECT 1"), bytes("43 0000000d", "'SELECT 1", "00"));
    }

    @Test
    void emptyQueryResponse() {
        encodes(BackendMessages::emptyQueryResponse, bytes("49 00000004"));
    }

    @Test
    void errorResponse() {
        encodes(b -> BackendMessages.error(b, "FATAL", "08P01", "bad"),
                bytes("45 0000001f", "53", "'FATAL", "00", "56", "'FATAL", "00", "43", "'08P01", "00", "4d", "'bad", "00", "00"));
    }

    @Test
    void noticeResponse() {
        encodes(b -> BackendMessages.notice(b, "00000", "hi", "det"),
                bytes("4e 00000025", "53", "'NOTICE", "00", "56", "'NOTICE", "00", "43", "'00000", "00", "4d", "'hi", "00",
                        "44", "'det", "00", "00"));
        encodes(b -> BackendMessages.notice(b, "00000", "hi", null),
                bytes("4e 00000020", "53", "'NOTICE", "00", "56", "'NOTICE", "00", "43", "'00000", "00", "4d", "'hi", "00", "00"));
    }

    @Test
    void negotiateProtocolVersion() {
        encodes(b -> BackendMessages.negotiateProtocolVersion(b, 0, List.of("_pq_.x")),
                bytes("76 00000013 00030000 00000001", "'_pq_.x", "00"));
        encodes(b -> BackendMessages.negotiateProtocolVersion(b, 2, List.of()), bytes("76 0000000c 00030002 00000000"));
    }

    @Test
    void rowDescription() {
        encodes(b -> BackendMessages.rowDescription(b, List.of(new BackendMessages.Column("a", 25, -1))),
                bytes("54 0000001a 0001", "'a", "00", "00000000 0000 00000019 ffff ffffffff 0000"));
        encodes(b -> BackendMessages.rowDescription(b, List.of()), bytes("54 00000006 0000"));
    }

    @Test
    void dataRow() {
        List<String> values = new java.util.ArrayList<>();
        values.add("ab");
        values.add(null);
        values.add("");
        encodes(b -> BackendMessages.dataRow(b, values), bytes("44 00000014 0003 00000002", "'ab", "ffffffff 00000000"));
        encodes(b -> BackendMessages.dataRow(b, List.of("é")), bytes("44 0000000c 0001 00000002 c3a9"));
    }

    // ---------------------------------------------------------------- frontend

    @Test
    void startupMessage() {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", "u");
        params.put("database", "d");
        encodes(b -> FrontendMessages.startup(b, params),
                bytes("0000001b 00030000", "'user", "00", "'u", "00", "'database", "00", "'d", "00", "00"));
        encodes(b -> FrontendMessages.startup(b, Map.of()), bytes("00000009 00030000 00"));
    }

    @Test
    void sslRequest() {
        encodes(FrontendMessages::sslRequest, bytes("00000008 04d2162f"));
    }

    @Test
    void cancelRequest() {
        encodes(b -> FrontendMessages.cancelRequest(b, 0x0000000100000002L), bytes("00000010 04d2162e 00000001 00000002"));
        encodes(b -> FrontendMessages.cancelRequest(b, 0xdeadbeefcafebabeL), bytes("00000010 04d2162e deadbeef cafebabe"));
    }

    @Test
    void passwordMessage() {
        encodes(b -> FrontendMessages.password(b, "pw"), bytes("70 00000007", "'pw", "00"));
    }

    @Test
    void saslInitialResponse() {
        encodes(b -> FrontendMessages.saslInitialResponse(b, "SCRAM-SHA-256", "n,,n=,r=x"),
                bytes("70 0000001f", "'SCRAM-SHA-256", "00", "00000009", "'n,,n=,r=x"));
    }

    @Test
    void saslResponse() {
        encodes(b -> FrontendMessages.saslResponse(b, "c=biws"), bytes("70 0000000a", "'c=biws"));
    }

    @Test
    void query() {
        encodes(b -> FrontendMessages.query(b, "SELECT 1"), bytes("51 0000000d", "'SELECT 1", "00"));
        encodes(b -> FrontendMessages.query(b, ""), bytes("51 00000005 00"));
    }

    @Test
    void terminate() {
        encodes(FrontendMessages::terminate, bytes("58 00000004"));
    }

    @Test
    void requestCodesAreThoseOfPostgres() {
        assertThat(FrontendTag.PROTOCOL_3_0).isEqualTo(3 << 16);
        assertThat(FrontendTag.CANCEL_REQUEST_CODE).isEqualTo(1234 << 16 | 5678);
        assertThat(FrontendTag.SSL_REQUEST_CODE).isEqualTo(1234 << 16 | 5679);
        assertThat(FrontendTag.GSSENC_REQUEST_CODE).isEqualTo(1234 << 16 | 5680);
    }

    // ---------------------------------------------------------------- builder

    @Test
    void builderGrowsAndKeepsEarlierMessages() {
        MessageBuilder b = new MessageBuilder(2);
        String big = "x".repeat(1000);
        FrontendMessages.query(b, big);
        FrontendMessages.terminate(b);
        byte[] out = b.toArray();
        assertThat(out).hasSize(1 + 4 + 1001 + 5);
        assertThat(MessageBuilder.getInt(out, 1)).isEqualTo(1005);
        assertThat(out[1006]).isEqualTo((byte) 'X');
        assertThat(b.buffer().remaining()).isEqualTo(out.length);
        b.clear();
        assertThat(b.size()).isZero();
        BackendMessages.readyForQuery(b, 'I');
        assertThat(b.toArray()).isEqualTo(bytes("5a 00000005 49"));
    }

    @Test
    void builderWritesBigEndianIntegers() {
        MessageBuilder b = new MessageBuilder();
        b.begin((byte) 'x').int8(0x1ff).int16(0xabcd).int32(0x80000001).bytes(new byte[] {9, 8, 7}, 1, 2).end();
        assertThat(b.toArray()).isEqualTo(bytes("78 0000000d ff abcd 80000001 0807"));
    }
}
