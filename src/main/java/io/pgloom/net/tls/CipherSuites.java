package io.pgloom.net.tls;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * OpenSSL cipher strings for the JDK: PgBouncer's {@code *_tls_ciphers} shortcuts ({@code
 * default}/{@code secure}, {@code compat}/{@code legacy}, {@code normal}, {@code fast}, {@code
 * all}/{@code insecure}, expanded as PgBouncer's libusual does) and OpenSSL-style lists of suite
 * names and aliases joined by {@code :}, {@code ,} or spaces, with {@code A+B} intersections and
 * the {@code !}, {@code -} and {@code +} prefixes. Each JDK suite gets its OpenSSL name and the
 * OpenSSL aliases it belongs to ({@code HIGH}, {@code ECDHE}, {@code aRSA}, {@code AESGCM},
 * {@code SHA256}, {@code TLSv1.2}...), derived from its IANA name. Only suites the JDK supports
 * can come out; names the JDK lacks are ignored with a reason.
 *
 * <p>These lists cover TLS 1.2 and older only, as in PgBouncer; TLS 1.3 suites come from
 * {@link #selectTls13}. Stateless; any thread.
 */
final class CipherSuites {
    /** What a cipher string selects, in preference order, and why parts of it were ignored. */
    record Selection(List<String> suites, List<String> warnings) {
    }

    private record Suite(String jdkName, String openSslName, Set<String> tags) {
    }

    private static final Map<String, String> SHORTCUTS = Map.of(
            "default", "HIGH+EECDH:HIGH+EDH:!SSLv3:!SHA384:!SHA256:!DSS:!aNULL",
            "secure", "HIGH+EECDH:HIGH+EDH:!SSLv3:!SHA384:!SHA256:!DSS:!aNULL",
            "compat", "HIGH:+3DES:!aNULL",
            "legacy", "HIGH:+3DES:!aNULL",
            "normal", "HIGH+EECDH:HIGH+EDH:HIGH+RSA:+SHA384:+SHA256:+SSLv3:+EDH:+RSA:-3DES:3DES+RSA:!CAMELLIA:!DSS:!aNULL",
            "fast", "HIGH+EECDH:HIGH+EDH:HIGH+RSA:+AES256:+SHA256:+SHA384:+SSLv3:+EDH:+RSA:-3DES:3DES+RSA:!CAMELLIA:!DSS:!aNULL",
            "all", "ALL:!aNULL:!eNULL",
            "insecure", "ALL:!aNULL:!eNULL");

    /** OpenSSL aliases that are valid but may match no JDK suite (so they are not "unknown"). */
    private static final Set<String> KNOWN_ALIASES = Set.of("ALL", "COMPLEMENTOFALL", "DEFAULT", "COMPLEMENTOFDEFAULT", "HIGH",
            "MEDIUM", "LOW", "EXPORT", "EXP", "eNULL", "NULL", "aNULL", "kRSA", "RSA", "aRSA", "kDHE", "kEDH", "DHE", "EDH", "DH",
            "kECDHE", "kEECDH", "ECDHE", "EECDH", "ECDH", "kECDH", "kECDHr", "kECDHe", "aECDSA", "ECDSA", "aDSS", "DSS", "aDH",
            "aECDH", "AES", "AES128", "AES256", "AESGCM", "AESCCM", "AESCCM8", "CHACHA20", "CAMELLIA", "CAMELLIA128", "CAMELLIA256",
            "ARIA", "ARIA128", "ARIA256", "ARIAGCM", "3DES", "DES", "RC4", "RC2", "IDEA", "SEED", "MD5", "SHA1", "SHA", "SHA256",
            "SHA384", "AEAD", "TLSv1.2", "TLSv1.0", "TLSv1", "SSLv3", "PSK", "kPSK", "aPSK", "SRP", "kSRP", "GOST", "ADH", "AECDH",
            "SUITEB128", "SUITEB128ONLY", "SUITEB192", "CBC");

    private CipherSuites() {
    }

    /**
     * The TLS 1.2-and-older suites a cipher string selects, from those the JDK supports (in
     * the JDK's order where the string does not decide).
     */
    static Selection select(String spec, List<String> jdkSupported) {
        String expanded = expand(spec);
        List<Suite> base = new ArrayList<>();
        for (String name : jdkSupported) {
            Suite s = describe(name);
            if (s != null) {
                base.add(s);
            }
        }
        List<String> warnings = new ArrayList<>();
        LinkedHashSet<Suite> active = new LinkedHashSet<>();
        Set<Suite> killed = new HashSet<>();
        for (String term : expanded.split("[:, ]+")) {
            if (term.isEmpty()) {
                continue;
            }
            if (term.startsWith("@")) {
                warnings.add("'" + term + "' ignored: the JDK has no such setting");
                continue;
            }
            char op = term.charAt(0);
            String body = op == '!' || op == '-' || op == '+' ? term.substring(1) : term;
            List<Suite> matching = matching(body, base, warnings);
            switch (op) {
                case '!' -> {
                    killed.addAll(matching);
                    matching.forEach(active::remove);
                }
                case '-' -> matching.forEach(active::remove);
                case '+' -> {
                    for (Suite s : matching) {
                        if (active.remove(s)) {
                            active.add(s);
                        }
                    }
                }
                default -> {
                    for (Suite s : matching) {
                        if (!killed.contains(s)) {
                            active.add(s);
                        }
                    }
                }
            }
        }
        List<String> names = new ArrayList<>();
        for (Suite s : active) {
            names.add(s.jdkName());
        }
        return new Selection(List.copyOf(names), List.copyOf(warnings));
    }

    /** The OpenSSL cipher string a PgBouncer shortcut stands for, or {@code spec} itself. */
    static String expand(String spec) {
        return SHORTCUTS.getOrDefault(spec.strip().toLowerCase(Locale.ROOT), spec);
    }

    /**
     * The TLS 1.3 suites of a {@code *_tls13_ciphers} value (names joined by {@code :}); an
     * empty value means the JDK's defaults.
     */
    static Selection selectTls13(String spec, List<String> jdkSupported, List<String> jdkDefault) {
        List<String> warnings = new ArrayList<>();
        if (spec.isBlank()) {
            List<String> out = new ArrayList<>();
            for (String s : jdkDefault) {
                if (isTls13(s)) {
                    out.add(s);
                }
            }
            return new Selection(List.copyOf(out), List.of());
        }
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (String term : spec.split("[:, ]+")) {
            if (term.isEmpty()) {
                continue;
            }
            if (isTls13(term) && jdkSupported.contains(term)) {
                out.add(term);
            } else {
                warnings.add("'" + term + "' ignored: not a TLS 1.3 cipher suite the JDK supports");
            }
        }
        return new Selection(List.copyOf(out), List.copyOf(warnings));
    }

    static boolean isTls13(String jdkName) {
        return jdkName.startsWith("TLS_") && !jdkName.contains("_WITH_") && !jdkName.endsWith("_SCSV");
    }

    /** The OpenSSL name of a JDK suite (TLS 1.3 suites keep their IANA name, as in OpenSSL). */
    static String openSslName(String jdkName) {
        if (isTls13(jdkName)) {
            return jdkName;
        }
        Suite s = describe(jdkName);
        return s == null || s.openSslName() == null ? jdkName : s.openSslName();
    }

    private static List<Suite> matching(String body, List<Suite> base, List<String> warnings) {
        String[] parts = body.split("\\+");
        List<Suite> out = new ArrayList<>();
        for (Suite s : base) {
            boolean all = true;
            for (String p : parts) {
                if (!s.tags().contains(p)) {
                    all = false;
                    break;
                }
            }
            if (all) {
                out.add(s);
            }
        }
        if (out.isEmpty()) {
            for (String p : parts) {
                if (!KNOWN_ALIASES.contains(p) && !isSuiteName(p, base)) {
                    warnings.add("'" + p + "' ignored: not a cipher suite or alias the JDK supports");
                    break;
                }
            }
        }
        return out;
    }

    private static boolean isSuiteName(String p, List<Suite> base) {
        for (Suite s : base) {
            if (p.equals(s.jdkName()) || p.equals(s.openSslName())) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ naming

    /**
     * The OpenSSL view of a {@code TLS_<kx>_<auth>_WITH_<cipher>_<mac>} suite, or null for
     * TLS 1.3 suites, signalling suites and names of another shape.
     */
    private static Suite describe(String jdkName) {
        int with = jdkName.indexOf("_WITH_");
        if (!jdkName.startsWith("TLS_") || with < 0) {
            return null;
        }
        String kxAuth = jdkName.substring(4, with);
        String cipher = jdkName.substring(with + 6);
        Set<String> tags = new HashSet<>();
        String prefix = keyExchange(kxAuth, tags);
        if (prefix == null) {
            return null;
        }
        String body = cipherAndMac(cipher, kxAuth, tags);
        if (body == null) {
            return null;
        }
        String openSsl = prefix + body;
        tags.add(jdkName);
        tags.add(openSsl);
        if (!tags.contains("eNULL")) {
            tags.add("ALL");
            if (!tags.contains("aNULL")) {
                tags.add("DEFAULT");
            } else {
                tags.add("COMPLEMENTOFDEFAULT");
            }
        } else {
            tags.add("COMPLEMENTOFALL");
        }
        return new Suite(jdkName, openSsl, Set.copyOf(tags));
    }

    /** Adds the key exchange and authentication aliases; returns the OpenSSL name prefix. */
    private static String keyExchange(String kxAuth, Set<String> tags) {
        switch (kxAuth) {
            case "ECDHE_ECDSA" -> {
                tags.addAll(List.of("kECDHE", "kEECDH", "ECDHE", "EECDH", "ECDH", "aECDSA", "ECDSA"));
                return "ECDHE-ECDSA-";
            }
            case "ECDHE_RSA" -> {
                tags.addAll(List.of("kECDHE", "kEECDH", "ECDHE", "EECDH", "ECDH", "aRSA"));
                return "ECDHE-RSA-";
            }
            case "DHE_RSA" -> {
                tags.addAll(List.of("kDHE", "kEDH", "DHE", "EDH", "DH", "aRSA"));
                return "DHE-RSA-";
            }
            case "DHE_DSS" -> {
                tags.addAll(List.of("kDHE", "kEDH", "DHE", "EDH", "DH", "aDSS", "DSS"));
                return "DHE-DSS-";
            }
            case "RSA" -> {
                tags.addAll(List.of("kRSA", "RSA", "aRSA"));
                return "";
            }
            case "ECDH_ECDSA" -> {
                tags.addAll(List.of("kECDH", "kECDHe", "aECDH", "ECDSA"));
                return "ECDH-ECDSA-";
            }
            case "ECDH_RSA" -> {
                tags.addAll(List.of("kECDH", "kECDHr", "aECDH"));
                return "ECDH-RSA-";
            }
            case "DH_anon" -> {
                tags.addAll(List.of("kDHE", "kEDH", "DHE", "DH", "aNULL", "ADH"));
                return "ADH-";
            }
            case "ECDH_anon" -> {
                tags.addAll(List.of("kECDHE", "kEECDH", "ECDHE", "ECDH", "aNULL", "AECDH"));
                return "AECDH-";
            }
            default -> {
                return null;
            }
        }
    }

    /** Adds the cipher, MAC and protocol aliases; returns the rest of the OpenSSL name. */
    private static String cipherAndMac(String cipher, String kxAuth, Set<String> tags) {
        String[] p = cipher.split("_");
        boolean ecdhe = kxAuth.startsWith("ECDH");
        if (cipher.equals("CHACHA20_POLY1305_SHA256")) {
            tags.addAll(List.of("CHACHA20", "HIGH", "AEAD", "TLSv1.2"));
            return "CHACHA20-POLY1305";
        }
        if (p.length == 4 && p[0].equals("AES") && p[2].equals("GCM")) {
            tags.addAll(List.of("AES", "AES" + p[1], "AESGCM", "HIGH", "AEAD", "TLSv1.2"));
            return "AES" + p[1] + "-GCM-" + p[3];
        }
        if (p.length == 4 && p[0].equals("AES") && p[2].equals("CBC")) {
            tags.addAll(List.of("AES", "AES" + p[1], "HIGH", "CBC"));
            return "AES" + p[1] + "-" + mac(p[3], ecdhe, tags);
        }
        if (p.length == 3 && p[0].equals("AES") && p[2].equals("CCM")) {
            tags.addAll(List.of("AES", "AES" + p[1], "AESCCM", "HIGH", "AEAD", "TLSv1.2"));
            return "AES" + p[1] + "-CCM";
        }
        if (p.length == 4 && p[0].equals("CAMELLIA") && p[2].equals("CBC")) {
            tags.addAll(List.of("CAMELLIA", "CAMELLIA" + p[1], "HIGH", "CBC"));
            return "CAMELLIA" + p[1] + "-" + mac(p[3], ecdhe, tags);
        }
        if (cipher.equals("3DES_EDE_CBC_SHA")) {
            tags.addAll(List.of("3DES", "MEDIUM", "CBC"));
            mac("SHA", ecdhe, tags);
            return "DES-CBC3-SHA";
        }
        if (p.length == 2 && p[0].equals("NULL")) {
            tags.addAll(List.of("eNULL", "NULL"));
            return "NULL-" + mac(p[1], ecdhe, tags);
        }
        return null;
    }

    /** MAC aliases, and the oldest protocol a CBC suite works with (OpenSSL's version alias). */
    private static String mac(String mac, boolean ecdhe, Set<String> tags) {
        switch (mac) {
            case "SHA" -> {
                tags.addAll(List.of("SHA1", "SHA"));
                // OpenSSL files the ECDHE CBC-SHA1 suites under TLSv1.0, the others under SSLv3
                tags.addAll(ecdhe ? List.of("TLSv1.0", "TLSv1") : List.of("SSLv3"));
                return "SHA";
            }
            case "SHA256", "SHA384" -> {
                tags.addAll(List.of(mac, "TLSv1.2"));
                return mac;
            }
            default -> {
                tags.add(mac);
                return mac;
            }
        }
    }

    /** The OpenSSL name to JDK name table of the given suites (for tests and diagnostics). */
    static Map<String, String> openSslNames(List<String> jdkSupported) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : jdkSupported) {
            Suite s = describe(name);
            if (s != null) {
                out.put(s.openSslName(), name);
            }
        }
        return out;
    }
}
