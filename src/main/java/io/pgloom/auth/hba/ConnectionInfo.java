package io.pgloom.auth.hba;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * What HBA rules are matched against: how the client came in (unix socket, or TCP with or
 * without TLS), from where, and the database and user it asked for. {@code replication} marks a
 * physical replication connection, which only the {@code replication} database keyword matches.
 * Immutable.
 */
public record ConnectionInfo(boolean unix, boolean tls, InetAddress address, String database, String user,
        boolean replication) {

    public ConnectionInfo {
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        if (unix && (address != null || tls)) {
            throw new IllegalArgumentException("a unix socket connection has no address and no TLS");
        }
        if (!unix) {
            Objects.requireNonNull(address, "address");
        }
    }

    /** A connection over a unix socket. */
    public static ConnectionInfo unix(String database, String user) {
        return new ConnectionInfo(true, false, null, database, user, false);
    }

    /** A TCP connection from {@code address}, with TLS or without. */
    public static ConnectionInfo tcp(InetAddress address, boolean tls, String database, String user) {
        return new ConnectionInfo(false, tls, address, database, user, false);
    }

    /** The same connection as a physical replication connection. */
    public ConnectionInfo asReplication() {
        return new ConnectionInfo(unix, tls, address, database, user, true);
    }

    /**
     * PostgreSQL's words for a connection no rule admits: {@code host "10.0.0.5", user "alice",
     * database "app", SSL encryption} (or {@code host "[local]"} for unix sockets).
     */
    public String describe() {
        String host = unix ? "[local]" : hostText(address);
        String what = replication ? "replication connection" : "database \"" + database + "\"";
        String encryption = unix ? "" : tls ? ", SSL encryption" : ", no encryption";
        return "host \"" + host + "\", user \"" + user + "\", " + what + encryption;
    }

    private static String hostText(InetAddress a) {
        String h = a.getHostAddress();
        int zone = a instanceof Inet6Address ? h.indexOf('%') : -1;
        return zone > 0 ? h.substring(0, zone) : h;
    }
}
