package io.pgloom.auth.hba;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Map;
import java.util.Set;

/**
 * One pg_hba.conf line, parsed: connection type, databases, users, client address range,
 * method and options. Immutable.
 */
public final class HbaRule {
    /** The first column. */
    public enum Type {
        LOCAL("local"), HOST("host"), HOSTSSL("hostssl"), HOSTNOSSL("hostnossl");

        private final String word;

        Type(String word) {
            this.word = word;
        }

        public String word() {
            return word;
        }
    }

    /** A database or user column: keywords and names (names compare exactly). */
    record Names(boolean all, boolean sameUser, boolean replication, Set<String> names) {
        Names {
            names = Set.copyOf(names);
        }
    }

    /** An address column: {@code all} (null address) or an address and mask of one family. */
    record Addresses(byte[] address, byte[] mask) {
        static final Addresses ALL = new Addresses(null, null);

        boolean matches(InetAddress client) {
            if (address == null) {
                return true;
            }
            byte[] c = client.getAddress();
            if (c.length == 16 && address.length == 4 && client instanceof Inet6Address && isV4Mapped(c)) {
                c = new byte[] {c[12], c[13], c[14], c[15]};
            }
            if (c.length != address.length) {
                return false;
            }
            for (int i = 0; i < c.length; i++) {
                if (((c[i] ^ address[i]) & mask[i]) != 0) {
                    return false;
                }
            }
            return true;
        }

        private static boolean isV4Mapped(byte[] a) {
            for (int i = 0; i < 10; i++) {
                if (a[i] != 0) {
                    return false;
                }
            }
            return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
        }
    }

    private final String fileName;
    private final int line;
    private final String text;
    private final Type type;
    private final Names databases;
    private final Names users;
    private final Addresses addresses;
    private final HbaMethod method;
    private final Map<String, String> options;

    HbaRule(String fileName, int line, String text, Type type, Names databases, Names users, Addresses addresses, HbaMethod method,
            Map<String, String> options) {
        this.fileName = fileName;
        this.line = line;
        this.text = text;
        this.type = type;
        this.databases = databases;
        this.users = users;
        this.addresses = addresses;
        this.method = method;
        this.options = Map.copyOf(options);
    }

    /** Whether this rule applies to the connection. */
    boolean matches(ConnectionInfo c) {
        switch (type) {
            case LOCAL -> {
                if (!c.unix()) {
                    return false;
                }
            }
            case HOST, HOSTSSL, HOSTNOSSL -> {
                if (c.unix() || (type == Type.HOSTSSL && !c.tls()) || (type == Type.HOSTNOSSL && c.tls())
                        || !addresses.matches(c.address())) {
                    return false;
                }
            }
        }
        return databaseMatches(c) && (users.all() || users.names().contains(c.user()));
    }

    private boolean databaseMatches(ConnectionInfo c) {
        if (c.replication()) {
            return databases.replication();
        }
        return databases.all() || (databases.sameUser() && c.database().equals(c.user())) || databases.names().contains(c.database());
    }

    public String fileName() {
        return fileName;
    }

    /** The line the rule starts on. */
    public int line() {
        return line;
    }

    /** The rule as written (continuations joined), for log lines. */
    public String text() {
        return text;
    }

    public Type type() {
        return type;
    }

    public HbaMethod method() {
        return method;
    }

    /** The options ({@code map}, {@code clientcert}, {@code clientname}), name to value. */
    public Map<String, String> options() {
        return options;
    }

    /** PostgreSQL's words: {@code pg_hba.conf line 3: "host all all 0.0.0.0/0 md5"}. */
    @Override
    public String toString() {
        return fileName + " line " + line + ": \"" + text + "\"";
    }
}
