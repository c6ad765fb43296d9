package io.pgloom.client;

import io.pgloom.auth.hba.ConnectionInfo;
import io.pgloom.auth.hba.HbaMatch;
import io.pgloom.auth.hba.HbaReloader;
import io.pgloom.config.AuthType;
import io.pgloom.log.Log;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.TlsWire;
import io.pgloom.proto.SqlState;
import java.net.InetAddress;

/**
 * Decides how a login is checked: by {@code auth_type}, or with {@code auth_type = "hba"} by the
 * first rule of {@code auth_hba_file} that matches how the client came in (unix socket, TCP with
 * or without TLS, its address), the database and the user. No matching rule refuses the login
 * with PostgreSQL's "no pg_hba.conf entry for ..." message. Stateless; client thread.
 */
final class LoginPolicy {
    private LoginPolicy() {
    }

    static LoginMethod decide(ClientConnection client, AuthType type, String database, String user) {
        if (type != AuthType.HBA) {
            return LoginMethod.of(type);
        }
        HbaReloader.Rules rules = client.services().hba().current();
        if (rules == null) {
            Log.error(client.logPrefix() + "auth_type is hba but no HBA rules are loaded (auth_hba_file)");
            throw new ClientConnection.ClientClosing("bouncer config error", true, SqlState.INVALID_AUTHORIZATION);
        }
        ConnectionInfo info = describe(client.wire(), database, user);
        HbaMatch m = rules.hba().match(info);
        if (!m.matched()) {
            throw new ClientConnection.ClientClosing("no pg_hba.conf entry for " + info.describe(), true,
                    SqlState.INVALID_AUTHORIZATION);
        }
        if (Log.debugEnabled()) {
            Log.debug(client.logPrefix() + "HBA rule " + m.rule() + " matched: " + m.method().word());
        }
        return LoginMethod.of(m);
    }

    /** What HBA rules look at: unix socket, or TCP from an address with or without TLS. */
    static ConnectionInfo describe(Wire wire, String database, String user) {
        if (wire.isUnix()) {
            return ConnectionInfo.unix(database, user);
        }
        InetAddress address = wire.remoteInetAddress();
        if (address == null) {
            throw new ClientConnection.ClientClosing("client address unknown", false, SqlState.PROTOCOL_VIOLATION);
        }
        return ConnectionInfo.tcp(address, wire instanceof TlsWire, database, user);
    }
}
