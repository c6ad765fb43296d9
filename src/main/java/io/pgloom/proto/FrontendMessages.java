package io.pgloom.proto;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Encoders of the messages the pooler sends to PostgreSQL as a client. Pure functions. */
public final class FrontendMessages {
    private FrontendMessages() {
    }

    public static void startup(MessageBuilder b, Map<String, String> parameters) {
        b.beginUntyped().int32(FrontendTag.PROTOCOL_3_0);
        parameters.forEach((k, v) -> b.cstring(k).cstring(v));
        b.int8(0).end();
    }

    public static void sslRequest(MessageBuilder b) {
        b.beginUntyped().int32(FrontendTag.SSL_REQUEST_CODE).end();
    }

    public static void cancelRequest(MessageBuilder b, long key) {
        b.beginUntyped().int32(FrontendTag.CANCEL_REQUEST_CODE).int32((int) (key >>> 32)).int32((int) key).end();
    }

    public static void password(MessageBuilder b, String password) {
        b.begin(FrontendTag.PASSWORD).cstring(password).end();
    }

    public static void saslInitialResponse(MessageBuilder b, String mechanism, String data) {
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        b.begin(FrontendTag.PASSWORD).cstring(mechanism).int32(bytes.length).bytes(bytes).end();
    }

    public static void saslResponse(MessageBuilder b, String data) {
        b.begin(FrontendTag.PASSWORD).bytes(data.getBytes(StandardCharsets.UTF_8)).end();
    }

    public static void query(MessageBuilder b, String sql) {
        b.begin(FrontendTag.QUERY).cstring(sql).end();
    }

    public static void terminate(MessageBuilder b) {
        b.begin(FrontendTag.TERMINATE).end();
    }
}
