package io.pgloom.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A throwaway certificate authority made with {@code /usr/bin/openssl} in a temp dir, issuing
 * EC P-256 certificates for TLS tests: server certificates (SAN {@code DNS:localhost} and
 * {@code IP:127.0.0.1}) and client certificates (CN = a user name). Keys are unencrypted PKCS#8
 * with mode 0600, as libpq and PostgreSQL want them.
 *
 * <p>Not thread-safe: one test class per instance.
 */
final class Certs {

    /** A key and its certificate. */
    record Pair(Path key, Path cert) {
    }

    private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(30);

    private final Path dir;
    private final String name;
    private final Path caKey;
    private final Path caCert;

    private Certs(Path dir, String name) {
        this.dir = dir;
        this.name = name;
        this.caKey = dir.resolve(name + "-ca.key");
        this.caCert = dir.resolve(name + "-ca.crt");
    }

    /** A new CA whose files go to {@code dir} (prefixed with {@code name}). */
    static Certs newCa(Path dir, String name) {
        Certs c = new Certs(dir, name);
        c.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", c.caKey.toString(), "-out", c.caCert.toString(), "-days", "3",
                "-subj", "/CN=pgloom test CA " + name,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        c.restrict(c.caKey);
        return c;
    }

    /** The CA certificate (for *_ca_file, sslrootcert). */
    Path caCert() {
        return caCert;
    }

    /** A certificate for a server on this machine: CN {@code cn}, SAN localhost and 127.0.0.1. */
    Pair server(String fileName, String cn) {
        return server(fileName, cn, "DNS:localhost,IP:127.0.0.1");
    }

    /** A server certificate with these subject alternative names ({@code DNS:localhost}). */
    Pair server(String fileName, String cn, String subjectAltNames) {
        return issue(fileName, cn, "subjectAltName=" + subjectAltNames + "\nextendedKeyUsage=serverAuth\n");
    }

    /** A client certificate naming {@code user} as its Common Name. */
    Pair client(String fileName, String user) {
        return issue(fileName, user, "extendedKeyUsage=clientAuth\n");
    }

    private Pair issue(String fileName, String cn, String extensions) {
        Path key = dir.resolve(fileName + ".key");
        Path csr = dir.resolve(fileName + ".csr");
        Path cert = dir.resolve(fileName + ".crt");
        Path ext = dir.resolve(fileName + ".ext");
        try {
            Files.writeString(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n" + extensions);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + cn);
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-out", cert.toString(), "-days", "3", "-extfile", ext.toString());
        restrict(key);
        return new Pair(key, cert);
    }

    private void restrict(Path key) {
        try {
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void openssl(String... args) {
        List<String> command = new ArrayList<>(List.of("/usr/bin/openssl"));
        command.addAll(List.of(args));
        Exec.Result r = Exec.run(command, Map.of(), OPENSSL_TIMEOUT, true);
        if (r.exitCode() != 0) {
            throw new AssertionError("openssl failed (CA " + name + ")\n" + r.describe());
        }
    }
}
