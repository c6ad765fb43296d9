package io.pgloom.proto;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A decoded first packet of a connection: a StartupMessage with its parameters, or one of the
 * special requests (SSLRequest, GSSENCRequest, CancelRequest). Immutable.
 *
 * @param code the protocol or request code (second int32)
 * @param parameters the startup parameters in packet order (empty for requests)
 * @param cancelKey for a CancelRequest: process id (high 32 bits) and secret (low 32 bits)
 */
public record StartupPacket(int code, Map<String, String> parameters, long cancelKey) {

    /** PostgreSQL's own limit on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
    public static final int MAX_LENGTH = 10_000;

    public boolean isCancel() {
        return code == FrontendTag.CANCEL_REQUEST_CODE;
    }

    public boolean isSslRequest() {
        return code == FrontendTag.SSL_REQUEST_CODE;
    }

    public boolean isGssEncRequest() {
        return code == FrontendTag.GSSENC_REQUEST_CODE;
    }

    public int majorVersion() {
        return code >>> 16;
    }

    public int minorVersion() {
        return code & 0xffff;
    }

    /**
     * Decodes a packet body: the bytes after the 4-byte length.
     *
     * @throws ProtocolViolationException for anything malformed
     */
    public static StartupPacket parse(byte[] body) {
        BodyReader r = new BodyReader(body, "startup packet");
        int code = r.int32();
        switch (code) {
            case FrontendTag.SSL_REQUEST_CODE, FrontendTag.GSSENC_REQUEST_CODE -> {
                expectEnd(r);
                return new StartupPacket(code, Map.of(), 0);
            }
            case FrontendTag.CANCEL_REQUEST_CODE -> {
                long key = (r.int32() & 0xffffffffL) << 32 | (r.int32() & 0xffffffffL);
                expectEnd(r);
                return new StartupPacket(code, Map.of(), key);
            }
            default -> {
                if (code >>> 16 != 3) {
                    throw new ProtocolViolationException(code >>> 16 == 2
                            ? "old V2 protocol not supported"
                            : "unsupported protocol version " + (code >>> 16) + "." + (code & 0xffff));
                }
                return new StartupPacket(code, readParameters(r), 0);
            }
        }
    }

    private static Map<String, String> readParameters(BodyReader r) {
        Map<String, String> params = new LinkedHashMap<>();
        while (true) {
            String key = r.cstring();
            if (key.isEmpty()) {
                break;
            }
            String value = r.cstring();
            if (params.putIfAbsent(key, value) != null) {
                throw new ProtocolViolationException("duplicate startup parameter: " + key);
            }
        }
        expectEnd(r);
        return Collections.unmodifiableMap(params);
    }

    private static void expectEnd(BodyReader r) {
        if (r.remaining() != 0) {
            throw new ProtocolViolationException("invalid startup packet layout");
        }
    }
}
