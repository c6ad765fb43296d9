package io.pgloom.auth;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Immutable and thread-safe. The users of a PgBouncer auth_file (userlist.txt): one user per line,
 * {@code "name" "secret"}, with {@code ""} as an escaped quote inside a field. Anything between the
 * two fields and after the second one is ignored (as PgBouncer's {@code find_quote()} does), as are
 * blank lines and comment lines starting with {@code ;} (PgBouncer) or {@code #} (leniency); a
 * leading byte order mark and CRLF line ends are tolerated. Secrets are classified with {@link
 * Secret#parse}. When a user appears twice the later line wins, as PgBouncer updates an existing
 * user's password when it meets the name again.
 *
 * <p>Stricter than PgBouncer, which logs "broken auth file" and keeps the users read so far: any
 * bad line fails the whole file with a {@link UserListException} naming the line; a quoted field
 * must end on its own line; the user name must be non-empty and under {@value #MAX_USER_NAME_BYTES}
 * + 1 bytes; a secret may have at most {@value #MAX_SECRET_BYTES} bytes (UTF-8); the file must be
 * UTF-8.
 *
 * <p>{@code toString()} shows only the user count.
 */
public final class UserList {
    /** Longest user name, in UTF-8 bytes (PgBouncer's MAX_USERNAME is 128 including the NUL). */
    public static final int MAX_USER_NAME_BYTES = 127;
    /** Longest secret, in UTF-8 bytes (the PostgreSQL auth token limit PgBouncer adopted). */
    public static final int MAX_SECRET_BYTES = 65530;

    private final Map<String, Secret> secrets;

    private UserList(Map<String, Secret> secrets) {
        this.secrets = Collections.unmodifiableMap(new LinkedHashMap<>(secrets));
    }

    /** Parses auth_file text; {@code fileName} only prefixes error messages. */
    public static UserList parse(String text, String fileName) throws UserListException {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(fileName, "fileName");
        Map<String, Secret> secrets = new LinkedHashMap<>();
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text; // tolerate a UTF-8 BOM
        String[] lines = body.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            UserListLine.Entry entry = UserListLine.parse(lines[i], fileName, i + 1);
            if (entry != null) {
                secrets.put(entry.user(), Secret.parse(entry.secret()));
            }
        }
        return new UserList(secrets);
    }

    /** Reads and parses an auth_file, which must be UTF-8. */
    public static UserList load(Path path) throws UserListException {
        String fileName = path.toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException | SecurityException e) {
            throw new UserListException(fileName + ": cannot read: " + e);
        }
        return parse(bytes, fileName);
    }

    /** Parses auth_file bytes, which must be UTF-8; {@code fileName} only prefixes error messages. */
    public static UserList parse(byte[] bytes, String fileName) throws UserListException {
        return parse(decodeUtf8(bytes, fileName), fileName);
    }

    /** All users, in file order, name to secret. Unmodifiable. */
    public Map<String, Secret> secrets() {
        return secrets;
    }

    /** The secret of {@code user}, if listed. */
    public Optional<Secret> secret(String user) {
        return Optional.ofNullable(secrets.get(user));
    }

    public int size() {
        return secrets.size();
    }

    @Override
    public String toString() {
        return "UserList[" + secrets.size() + " users]";
    }

    private static String decodeUtf8(byte[] bytes, String fileName) throws UserListException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            throw new UserListException(fileName + ":" + lineAt(bytes, in.position()) + ": not valid UTF-8");
        }
        decoder.flush(out); // UTF-8 keeps no state to flush; completes the decoder's protocol
        return out.flip().toString();
    }

    private static int lineAt(byte[] bytes, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (bytes[i] == '\n') {
                line++;
            }
        }
        return line;
    }
}
