package io.pgloom.net.tls;

import java.net.InetAddress;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * libpq's {@code sslmode=verify-full} host name rule ({@code pq_verify_peer_name_matches_certificate}
 * in PostgreSQL 14 and later), not HTTPS's: a host name is matched, ignoring case, against the
 * certificate's SAN dNSName entries, where {@code *.} may stand for exactly one leading label;
 * an IP address is matched against the SAN iPAddress entries (and, as libpq compares strings,
 * against a dNSName spelling it out). The subject's Common Name is consulted only when there is
 * no SAN of the host's kind. Stateless; any thread.
 */
public final class HostnameChecker {
    private static final int SAN_DNS = 2;
    private static final int SAN_IP = 7;

    private HostnameChecker() {
    }

    /**
     * Throws, with libpq's message ({@code server certificate for "a" (and 2 other names) does
     * not match host name "b"}), unless {@code cert} is valid for {@code host}.
     */
    public static void check(String host, X509Certificate cert) throws CertificateException {
        if (host == null || host.isEmpty()) {
            throw new CertificateException("host name must be specified for a verified TLS connection");
        }
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        byte[] ip = ipLiteral(bare);
        List<String> names = new ArrayList<>();
        boolean checkCommonName = true;
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new CertificateException("could not read the server certificate's subject alternative names: "
                    + PemFiles.oneLine(e), e);
        }
        if (sans != null) {
            for (List<?> san : sans) {
                int type = (Integer) san.get(0);
                if (type == SAN_DNS && san.get(1) instanceof String dns) {
                    names.add(dns);
                    if (nameMatches(dns, bare)) {
                        return;
                    }
                    if (ip == null) {
                        checkCommonName = false;
                    }
                } else if (type == SAN_IP && san.get(1) instanceof String address) {
                    names.add(address);
                    byte[] sanIp = ipLiteral(address);
                    if (ip != null && sanIp != null && Arrays.equals(ip, sanIp)) {
                        return;
                    }
                    if (ip != null) {
                        checkCommonName = false;
                    }
                }
            }
        }
        if (checkCommonName) {
            String cn = commonName(cert);
            if (cn != null) {
                names.add(cn);
                if (nameMatches(cn, bare)) {
                    return;
                }
            }
        }
        if (names.isEmpty()) {
            throw new CertificateException("could not get server's host name from server certificate");
        }
        String first = names.get(0);
        String others = names.size() == 1 ? ""
                : names.size() == 2 ? " (and 1 other name)" : " (and " + (names.size() - 1) + " other names)";
        throw new CertificateException("server certificate for \"" + first + "\"" + others + " does not match host name \""
                + host + "\"");
    }

    /** Case-insensitive equality, or a leading {@code *.} wildcard covering one whole label. */
    static boolean nameMatches(String pattern, String host) {
        if (pattern.indexOf('\0') >= 0) {
            return false; // embedded NULs are an attack (CVE-2009-4034), never a name
        }
        if (pattern.equalsIgnoreCase(host)) {
            return true;
        }
        if (pattern.length() < 3 || !pattern.startsWith("*.") || pattern.length() > host.length()) {
            return false;
        }
        String suffix = pattern.substring(1);
        int at = host.length() - suffix.length();
        if (!host.substring(at).equalsIgnoreCase(suffix)) {
            return false;
        }
        return host.indexOf('.') >= at && at > 0;
    }

    /** The address bytes of an IPv4 or IPv6 literal (zone removed), or null for a name. */
    static byte[] ipLiteral(String s) {
        int zone = s.indexOf('%');
        String t = zone > 0 ? s.substring(0, zone) : s;
        if (t.isEmpty() || !(Character.digit(t.charAt(0), 16) >= 0 || t.charAt(0) == ':')) {
            return null;
        }
        try {
            return InetAddress.ofLiteral(t).getAddress();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The first Common Name of the subject, as OpenSSL's X509_NAME_get_index_by_NID finds it. */
    static String commonName(X509Certificate cert) {
        try {
            LdapName name = new LdapName(cert.getSubjectX500Principal().getName());
            for (Rdn rdn : name.getRdns()) { // from the first RDN of the ASN.1 sequence
                if (rdn.getType().toUpperCase(Locale.ROOT).equals("CN")) {
                    return String.valueOf(rdn.getValue());
                }
            }
            return null;
        } catch (InvalidNameException e) {
            return null;
        }
    }
}
