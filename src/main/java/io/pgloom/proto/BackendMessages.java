package io.pgloom.proto;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Encoders of the messages the pooler itself sends to clients. Pure functions. */
public final class BackendMessages {
    private BackendMessages() {
    }

    public static void authOk(MessageBuilder b) {
        b.begin(BackendTag.AUTHENTICATION).int32(BackendTag.AUTH_OK).end();
    }

    public static void authCleartext(MessageBuilder b) {
        b.begin(BackendTag.AUTHENTICATION).int32(BackendTag.AUTH_CLEARTEXT_PASSWORD).end();
    }

    public static void authMd5(MessageBuilder b, byte[] salt) {
        b.begin(BackendTag.AUTHENTICATION).int32(BackendTag.AUTH_MD5_PASSWORD).bytes(salt).end();
    }

    public static void authSasl(MessageBuilder b, List<String> mechanisms) {
        b.begin(BackendTag.AUTHENTICATION).int32(BackendTag.AUTH_SASL);
        for (String m : mechanisms) {
            b.cstring(m);
        }
        b.int8(0).end();
    }

    public static void authSaslContinue(MessageBuilder b, String data) {
        b.begin(BackendTag.AUTHENTICATION).int32(BackendTag.AUTH_SASL_CONTINUE)
                .bytes(data.getBytes(StandardCharsets.UTF_8)).end();
    }

    public static void authSaslFinal(MessageBuilder b, String data) {
        b.begin(BackendTag.AUTHENTICATION).int32(BackendTag.AUTH_SASL_FINAL)
                .bytes(data.getBytes(StandardCharsets.UTF_8)).end();
    }

    public static void parameterStatus(MessageBuilder b, String name, String value) {
        b.begin(BackendTag.PARAMETER_STATUS).cstring(name).cstring(value).end();
    }

    public static void backendKeyData(MessageBuilder b, long key) {
        b.begin(BackendTag.BACKEND_KEY_DATA).int32((int) (key >>> 32)).int32((int) key).end();
    }

    public static void readyForQuery(MessageBuilder b, char status) {
        b.begin(BackendTag.READY_FOR_QUERY).int8(status).end();
    }

    public static void commandComplete(MessageBuilder b, String tag) {
        b.begin(BackendTag.COMMAND_COMPLETE).cstring(tag).end();
    }

    public static void emptyQueryResponse(MessageBuilder b) {
        b.begin(BackendTag.EMPTY_QUERY_RESPONSE).end();
    }

    /** An ErrorResponse: severity is ERROR or FATAL. */
    public static void error(MessageBuilder b, String severity, String sqlState, String message) {
        b.begin(BackendTag.ERROR_RESPONSE);
        fields(b, severity, sqlState, message, null);
        b.end();
    }

    public static void notice(MessageBuilder b, String sqlState, String message, String detail) {
        b.begin(BackendTag.NOTICE_RESPONSE);
        fields(b, "NOTICE", sqlState, message, detail);
        b.end();
    }

    private static void fields(MessageBuilder b, String severity, String sqlState, String message, String detail) {
        b.int8('S').cstring(severity).int8('V').cstring(severity).int8('C').cstring(sqlState).int8('M').cstring(message);
        if (detail != null) {
            b.int8('D').cstring(detail);
        }
        b.int8(0);
    }

    /** NegotiateProtocolVersion: the newest minor version supported and the options not recognized. */
    public static void negotiateProtocolVersion(MessageBuilder b, int minorVersion, List<String> unsupported) {
        b.begin(BackendTag.NEGOTIATE_PROTOCOL_VERSION).int32(3 << 16 | minorVersion).int32(unsupported.size());
        for (String o : unsupported) {
            b.cstring(o);
        }
        b.end();
    }

    /** One text column of a RowDescription. */
    public record Column(String name, int typeOid, int typeLen) {
    }

    public static void rowDescription(MessageBuilder b, List<Column> columns) {
        b.begin(BackendTag.ROW_DESCRIPTION).int16(columns.size());
        for (Column c : columns) {
            b.cstring(c.name()).int32(0).int16(0).int32(c.typeOid()).int16(c.typeLen()).int32(-1).int16(0);
        }
        b.end();
    }

    /** A DataRow of text values; null is SQL NULL. */
    public static void dataRow(MessageBuilder b, List<String> values) {
        b.begin(BackendTag.DATA_ROW).int16(values.size());
        for (String v : values) {
            if (v == null) {
                b.int32(-1);
            } else {
                byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
                b.int32(bytes.length).bytes(bytes);
            }
        }
        b.end();
    }
}
