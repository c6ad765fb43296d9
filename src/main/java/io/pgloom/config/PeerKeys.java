package io.pgloom.config;

import static io.pgloom.config.ValueTypes.STRING;
import static io.pgloom.config.ValueTypes.integer;

/** The keys of a {@code [peers.<id>]} table (PgBouncer's {@code [peers]} section). */
public final class PeerKeys {
    private PeerKeys() {
    }

    private static final Section.Builder B = new Section.Builder("peers");

    public static final Setting<String> HOST = B.add("host", STRING, null);
    public static final Setting<Integer> PORT = B.add("port", integer(1, 65535), 6432);
    public static final Setting<Integer> POOL_SIZE = B.add("pool_size", integer(0, Integer.MAX_VALUE), null);

    public static final Section SECTION = B.build();
}
