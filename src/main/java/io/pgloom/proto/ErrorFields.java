package io.pgloom.proto;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fields of an ErrorResponse or NoticeResponse body (S, V, C, M, D, H, ...). Immutable.
 * Missing fields read as null; an ErrorResponse without SQLSTATE is tolerated.
 */
public record ErrorFields(Map<Character, String> fields) {

    public String severity() {
        String v = fields.get('V');
        return v != null ? v : fields.get('S');
    }

    public String sqlState() {
        return fields.get('C');
    }

    public String message() {
        return fields.get('M');
    }

    public boolean isFatal() {
        String s = severity();
        return "FATAL".equals(s) || "PANIC".equals(s);
    }

    public static ErrorFields parse(byte[] buf, int offset, int length) {
        BodyReader r = new BodyReader(buf, offset, length, "error fields");
        Map<Character, String> out = new LinkedHashMap<>();
        while (true) {
            int code = r.int8();
            if (code == 0) {
                break;
            }
            out.put((char) code, r.cstring());
        }
        return new ErrorFields(Collections.unmodifiableMap(out));
    }

    /** "message (SQLSTATE)" for logs. */
    @Override
    public String toString() {
        return severity() + ": " + message() + (sqlState() == null ? "" : " (" + sqlState() + ")");
    }
}
