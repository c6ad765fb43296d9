package io.pgloom.client;

import io.pgloom.auth.hba.HbaMatch;
import io.pgloom.config.AuthType;

/**
 * How one login is checked: the method {@code auth_type} names, or the one of the HBA rule that
 * matched, with that rule's options. Immutable.
 *
 * @param map the ident map ({@code map=}) for cert and peer, or null: then the name must equal
 *     the user name
 * @param clientCert {@code clientcert=} of the rule ({@code verify-ca}/{@code verify-full}), or null
 * @param clientNameDn {@code clientname=DN}: the certificate's whole subject is the name, not its CN
 */
record LoginMethod(Kind kind, String map, String clientCert, boolean clientNameDn) {

    /** The checks pgloom can make. */
    enum Kind {
        ANY, TRUST, REJECT, PLAIN, MD5, SCRAM_SHA_256, CERT, PEER
    }

    /** The method of a global {@code auth_type} (not hba). */
    static LoginMethod of(AuthType type) {
        Kind k = switch (type) {
            case ANY -> Kind.ANY;
            case TRUST -> Kind.TRUST;
            case PLAIN -> Kind.PLAIN;
            case MD5 -> Kind.MD5;
            case SCRAM_SHA_256 -> Kind.SCRAM_SHA_256;
            case CERT -> Kind.CERT;
            case HBA, PAM, LDAP -> Kind.REJECT;
        };
        return new LoginMethod(k, null, null, false);
    }

    /** The method of a matched HBA rule. */
    static LoginMethod of(HbaMatch m) {
        Kind k = switch (m.method()) {
            case TRUST -> Kind.TRUST;
            case REJECT -> Kind.REJECT;
            case MD5 -> Kind.MD5;
            case PASSWORD -> Kind.PLAIN;
            case SCRAM_SHA_256 -> Kind.SCRAM_SHA_256;
            case CERT -> Kind.CERT;
            case PEER -> Kind.PEER;
        };
        return new LoginMethod(k, m.map().orElse(null), m.options().get("clientcert"), "DN".equals(m.options().get("clientname")));
    }
}
