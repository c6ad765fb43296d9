package io.pgloom.client;

import io.pgloom.auth.hba.HbaReloader;
import io.pgloom.log.Log;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.TlsWire;
import io.pgloom.proto.SqlState;
import java.util.Optional;

/**
 * The logins that need no password: {@code cert} (the TLS client certificate's Common Name, or
 * its subject with {@code clientname=DN}) and {@code peer} (the OS user at the other end of the
 * unix socket). The name must equal the user name, or, with an HBA {@code map=}, the ident map
 * must allow it. Also the {@code clientcert=} option of HBA rules with other methods. Failures
 * close with PgBouncer's texts ("certificate authentication failed", "unix socket login
 * rejected") and log the detail as ERROR, as PgBouncer does. Stateless; client thread.
 */
final class IdentityCheck {
    private IdentityCheck() {
    }

    /** {@code cert}: a verified client certificate naming the user. */
    static void certificate(ClientConnection client, LoginMethod method, String user, boolean known) {
        String problem = certificateProblem(client, method, user);
        if (problem == null && !known) {
            problem = "no such user: " + user;
        }
        if (problem != null) {
            Log.error(client.logPrefix() + problem);
            throw new ClientConnection.ClientClosing("certificate authentication failed", true, SqlState.INVALID_AUTHORIZATION);
        }
    }

    /**
     * HBA {@code clientcert=verify-ca} (a client certificate the CA vouches for) or {@code
     * verify-full} (one naming the user too), checked before the rule's own method.
     */
    static void clientCertOption(ClientConnection client, LoginMethod method, String user) {
        if (method.clientCert() == null) {
            return;
        }
        String problem = method.clientCert().equals("verify-full")
                ? certificateProblem(client, method, user)
                : presented(client.wire()) == null ? "TLS client certificate required" : null;
        if (problem != null) {
            Log.error(client.logPrefix() + problem);
            throw new ClientConnection.ClientClosing("certificate authentication failed", true, SqlState.INVALID_AUTHORIZATION);
        }
    }

    /** {@code peer}: the unix socket's OS user is the user (or mapped to it). */
    static void peer(ClientConnection client, LoginMethod method, String user, boolean known) {
        Wire w = client.wire();
        String problem;
        if (!w.isUnix()) {
            problem = "peer authentication is only supported on unix sockets";
        } else {
            Optional<String> osUser = w.peerUserName();
            if (osUser.isEmpty()) {
                problem = "could not get the OS user of the peer (SO_PEERCRED)";
            } else if (!known) {
                problem = "no such user: " + user;
            } else {
                problem = nameProblem(client, method, osUser.get(), user, "OS user");
            }
        }
        if (problem != null) {
            Log.error(client.logPrefix() + problem);
            throw new ClientConnection.ClientClosing("unix socket login rejected", true, SqlState.INVALID_AUTHORIZATION);
        }
    }

    private static String certificateProblem(ClientConnection client, LoginMethod method, String user) {
        if (!(client.wire() instanceof TlsWire)) {
            return "TLS connection required";
        }
        TlsWire tls = presented(client.wire());
        if (tls == null) {
            return "TLS client certificate required";
        }
        Optional<String> name = method.clientNameDn() ? tls.peerDistinguishedName() : tls.peerCommonName();
        if (name.isEmpty()) {
            return "TLS client certificate has no common name";
        }
        String problem = nameProblem(client, method, name.get(), user, "certificate name");
        return problem == null ? null : "TLS certificate name mismatch: " + problem;
    }

    /** The TLS wire when the client presented a certificate, else null. */
    private static TlsWire presented(Wire w) {
        return w instanceof TlsWire t && !t.peerCertificates().isEmpty() ? t : null;
    }

    private static String nameProblem(ClientConnection client, LoginMethod method, String systemName, String user,
            String what) {
        if (method.map() == null) {
            return systemName.equals(user) ? null : what + " \"" + systemName + "\" is not user \"" + user + "\"";
        }
        HbaReloader.Rules rules = client.services().hba().current();
        if (rules != null && rules.mapAllows(method.map(), systemName, user)) {
            return null;
        }
        return "no match in ident map \"" + method.map() + "\" for " + what + " \"" + systemName + "\" as user \"" + user + "\"";
    }
}
