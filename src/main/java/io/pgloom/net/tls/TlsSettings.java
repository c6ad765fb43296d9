package io.pgloom.net.tls;

import io.pgloom.config.General;
import io.pgloom.config.SslMode;
import io.pgloom.config.Values;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The TLS settings of one side, as PgBouncer's {@code client_tls_*} or {@code server_tls_*}
 * keys give them, unchecked; {@link #build} checks them, reads the PEM files and makes a
 * {@link TlsContext}. Immutable.
 *
 * <p>Facing clients (pgloom is the TLS server): any mode but {@code disable} needs the key and
 * certificate files; a CA file makes pgloom ask for client certificates, and {@code
 * verify-ca}/{@code verify-full} (which need the CA file) make one mandatory. Facing servers
 * (pgloom is the TLS client): {@code verify-ca} checks the chain against the CA file (the JDK's
 * default trust store when unset), {@code verify-full} also the host name by libpq's rule, lower
 * modes check nothing; a key and certificate, both or neither, are presented when asked.
 *
 * <p>{@code protocols}: {@code secure}/{@code default} (TLSv1.2, TLSv1.3), {@code all}/{@code
 * legacy}/{@code tlsv1} (TLSv1 to TLSv1.3), or a list such as {@code tlsv1.2,tlsv1.3} with
 * {@code !} to remove, as libtls parses it; versions the JDK disables ({@code
 * jdk.tls.disabledAlgorithms}) are dropped with a warning. {@code ciphers}: see {@link
 * CipherSuites}; {@code tls13Ciphers} lists TLS 1.3 suites (empty: the JDK's).
 */
public record TlsSettings(Side side, SslMode mode, String keyFile, String certFile, String caFile, String protocols,
        String ciphers, String tls13Ciphers) {

    /** Which connections the settings are for; names the keys in messages. */
    public enum Side {
        /** Client connections: pgloom is the TLS server. */
        CLIENTS("client_tls_", "client_tls13_ciphers"),
        /** Connections to PostgreSQL: pgloom is the TLS client. */
        SERVERS("server_tls_", "server_tls13_ciphers");

        private final String prefix;
        private final String tls13Key;

        Side(String prefix, String tls13Key) {
            this.prefix = prefix;
            this.tls13Key = tls13Key;
        }

        /** The config key for a suffix such as {@code key_file}. */
        public String key(String suffix) {
            return prefix + suffix;
        }
    }

    private static final List<String> ALL_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1");
    /** Only lives in memory: the key store exists because KeyManagerFactory wants one. */
    private static final char[] KEY_STORE_PASSWORD = "pgloom".toCharArray();

    public TlsSettings {
        Objects.requireNonNull(side, "side");
        Objects.requireNonNull(mode, "mode");
        keyFile = keyFile == null ? "" : keyFile;
        certFile = certFile == null ? "" : certFile;
        caFile = caFile == null ? "" : caFile;
        protocols = protocols == null ? "" : protocols;
        ciphers = ciphers == null ? "" : ciphers;
        tls13Ciphers = tls13Ciphers == null ? "" : tls13Ciphers;
    }

    /** The {@code client_tls_*} keys of {@code [pgloom]}. */
    public static TlsSettings forClients(Values general) {
        return new TlsSettings(Side.CLIENTS, general.get(General.CLIENT_TLS_SSLMODE), general.get(General.CLIENT_TLS_KEY_FILE),
                general.get(General.CLIENT_TLS_CERT_FILE), general.get(General.CLIENT_TLS_CA_FILE),
                general.get(General.CLIENT_TLS_PROTOCOLS), general.get(General.CLIENT_TLS_CIPHERS),
                general.get(General.CLIENT_TLS13_CIPHERS));
    }

    /** The {@code server_tls_*} keys of {@code [pgloom]}. */
    public static TlsSettings forServers(Values general) {
        return new TlsSettings(Side.SERVERS, general.get(General.SERVER_TLS_SSLMODE), general.get(General.SERVER_TLS_KEY_FILE),
                general.get(General.SERVER_TLS_CERT_FILE), general.get(General.SERVER_TLS_CA_FILE),
                general.get(General.SERVER_TLS_PROTOCOLS), general.get(General.SERVER_TLS_CIPHERS),
                general.get(General.SERVER_TLS13_CIPHERS));
    }

    /**
     * Checks the settings, reads the files and builds the context ({@link TlsContext#enabled()}
     * false for {@code disable}). Errors are one line, starting with the key to blame.
     */
    public TlsContext build() throws IOException {
        if (mode == SslMode.DISABLE) {
            return TlsContext.disabled(this);
        }
        List<String> warnings = new ArrayList<>();
        List<String> wanted = parseProtocols(protocols, side.key("protocols"));
        KeyManager[] keys = keyManagers();
        TlsContext.ClientAuth clientAuth = TlsContext.ClientAuth.NONE;
        TrustManager[] trust;
        if (side == Side.CLIENTS) {
            if (mode.compareTo(SslMode.VERIFY_CA) >= 0 && caFile.isEmpty()) {
                throw new IOException(side.key("ca_file") + ": must be set when " + side.key("sslmode") + " is " + mode.word());
            }
            if (!caFile.isEmpty()) {
                clientAuth = mode.compareTo(SslMode.VERIFY_CA) >= 0 ? TlsContext.ClientAuth.NEED : TlsContext.ClientAuth.WANT;
                trust = new TrustManager[] {chainChecker()};
            } else {
                trust = null;
            }
        } else {
            X509ExtendedTrustManager chain = mode.compareTo(SslMode.VERIFY_CA) >= 0 ? chainChecker() : null;
            trust = new TrustManager[] {new ServerTrust(chain, mode == SslMode.VERIFY_FULL)};
        }
        SSLContext ssl;
        try {
            ssl = SSLContext.getInstance("TLS");
            ssl.init(keys, trust, null);
        } catch (GeneralSecurityException e) {
            throw new IOException(side.key("sslmode") + ": cannot set up TLS: " + PemFiles.oneLine(e), e);
        }
        SSLParameters supported = ssl.getSupportedSSLParameters();
        SSLParameters defaults = ssl.getDefaultSSLParameters();
        List<String> usable = usableProtocols(wanted, Arrays.asList(supported.getProtocols()), warnings);
        List<String> supportedSuites = Arrays.asList(supported.getCipherSuites());
        CipherSuites.Selection older = CipherSuites.select(ciphers, supportedSuites);
        CipherSuites.Selection tls13 = CipherSuites.selectTls13(tls13Ciphers, supportedSuites,
                Arrays.asList(defaults.getCipherSuites()));
        for (String w : older.warnings()) {
            warnings.add(side.key("ciphers") + ": " + w);
        }
        for (String w : tls13.warnings()) {
            warnings.add(side.tls13Key + ": " + w);
        }
        boolean wantsOlder = usable.stream().anyMatch(p -> !p.equals("TLSv1.3"));
        if (wantsOlder && older.suites().isEmpty()) {
            throw new IOException(side.key("ciphers") + ": no cipher suite the JDK supports matches '" + ciphers + "'");
        }
        if (usable.contains("TLSv1.3") && tls13.suites().isEmpty()) {
            throw new IOException(side.tls13Key + ": no TLS 1.3 cipher suite the JDK supports matches '" + tls13Ciphers + "'");
        }
        List<String> suites = new ArrayList<>();
        if (usable.contains("TLSv1.3")) {
            suites.addAll(tls13.suites());
        }
        if (wantsOlder) {
            suites.addAll(older.suites());
        }
        return new TlsContext(this, ssl, usable, suites, clientAuth, warnings);
    }

    // ------------------------------------------------------------------ protocols

    /** The protocol versions a libtls-style protocol string names, newest first. */
    static List<String> parseProtocols(String spec, String key) throws IOException {
        Set<String> chosen = new LinkedHashSet<>();
        boolean first = true;
        for (String raw : spec.strip().split("[,:\\s]+")) {
            if (raw.isEmpty()) {
                continue;
            }
            boolean negate = raw.startsWith("!");
            String word = (negate ? raw.substring(1) : raw).toLowerCase(Locale.ROOT);
            List<String> named = switch (word) {
                case "all", "legacy", "tlsv1" -> ALL_PROTOCOLS;
                case "default", "secure" -> List.of("TLSv1.3", "TLSv1.2");
                case "tlsv1.0" -> List.of("TLSv1");
                case "tlsv1.1" -> List.of("TLSv1.1");
                case "tlsv1.2" -> List.of("TLSv1.2");
                case "tlsv1.3" -> List.of("TLSv1.3");
                default -> throw new IOException(key + ": unknown protocol '" + raw + "' (expected secure, all, legacy or a list"
                        + " such as tlsv1.2,tlsv1.3)");
            };
            if (negate && first) {
                chosen.addAll(ALL_PROTOCOLS);
            }
            if (negate) {
                chosen.removeAll(named);
            } else {
                chosen.addAll(named);
            }
            first = false;
        }
        if (chosen.isEmpty()) {
            throw new IOException(key + ": no protocol left in '" + spec + "'");
        }
        List<String> ordered = new ArrayList<>();
        for (String p : ALL_PROTOCOLS) {
            if (chosen.contains(p)) {
                ordered.add(p);
            }
        }
        return ordered;
    }

    private List<String> usableProtocols(List<String> wanted, List<String> supported, List<String> warnings) throws IOException {
        Set<String> disabled = disabledByJdk();
        List<String> out = new ArrayList<>();
        for (String p : wanted) {
            if (!supported.contains(p)) {
                warnings.add(side.key("protocols") + ": " + p + " ignored: the JDK does not support it");
            } else if (disabled.contains(p)) {
                warnings.add(side.key("protocols") + ": " + p + " ignored: disabled by the JDK (jdk.tls.disabledAlgorithms)");
            } else {
                out.add(p);
            }
        }
        if (out.isEmpty()) {
            throw new IOException(side.key("protocols") + ": none of " + wanted + " is usable with this JDK");
        }
        return out;
    }

    private static Set<String> disabledByJdk() {
        Set<String> out = new LinkedHashSet<>();
        String property = Security.getProperty("jdk.tls.disabledAlgorithms");
        if (property != null) {
            for (String entry : property.split(",")) {
                String name = entry.strip().split("\\s+")[0];
                out.add(name);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ keys and trust

    private KeyManager[] keyManagers() throws IOException {
        boolean hasKey = !keyFile.isEmpty();
        boolean hasCert = !certFile.isEmpty();
        if (side == Side.CLIENTS && (!hasKey || !hasCert)) {
            throw new IOException(side.key(hasKey ? "cert_file" : "key_file") + ": must be set when " + side.key("sslmode")
                    + " is " + mode.word());
        }
        if (hasKey != hasCert) {
            throw new IOException(side.key(hasKey ? "cert_file" : "key_file") + ": must be set together with "
                    + side.key(hasKey ? "key_file" : "cert_file"));
        }
        if (!hasKey) {
            return null;
        }
        Path keyPath = Path.of(keyFile);
        Path certPath = Path.of(certFile);
        PrivateKey key;
        List<X509Certificate> chain;
        try {
            key = PemFiles.readPrivateKey(keyPath);
        } catch (IOException e) {
            throw new IOException(side.key("key_file") + ": " + e.getMessage(), e);
        }
        try {
            chain = PemFiles.readCertificates(certPath);
        } catch (IOException e) {
            throw new IOException(side.key("cert_file") + ": " + e.getMessage(), e);
        }
        try {
            PemFiles.checkKeyMatches(key, chain.get(0), keyPath, certPath);
        } catch (IOException e) {
            throw new IOException(side.key("key_file") + ": " + e.getMessage(), e);
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("pgloom", key, KEY_STORE_PASSWORD, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(store, KEY_STORE_PASSWORD);
            return kmf.getKeyManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw new IOException(side.key("key_file") + ": cannot use the key: " + PemFiles.oneLine(e), e);
        }
    }

    /** PKIX chain checking against the CA file, or the JDK's trust store when none is set. */
    private X509ExtendedTrustManager chainChecker() throws IOException {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            if (caFile.isEmpty()) {
                tmf.init((KeyStore) null);
            } else {
                List<X509Certificate> cas;
                try {
                    cas = PemFiles.readCertificates(Path.of(caFile));
                } catch (IOException e) {
                    throw new IOException(side.key("ca_file") + ": " + e.getMessage(), e);
                }
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                for (int i = 0; i < cas.size(); i++) {
                    store.setCertificateEntry("ca-" + i, cas.get(i));
                }
                tmf.init(store);
            }
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return x;
                }
            }
            throw new IOException(side.key("ca_file") + ": the JDK offers no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IOException(side.key("ca_file") + ": cannot use the CA certificates: " + PemFiles.oneLine(e), e);
        }
    }
}
