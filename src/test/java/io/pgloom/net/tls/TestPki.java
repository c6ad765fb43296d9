package io.pgloom.net.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test keys and certificates made with {@code /usr/bin/openssl} in a directory: a CA, a second
 * (untrusted) CA, a server certificate for {@code localhost} and {@code 127.0.0.1} with a PKCS#1
 * RSA key, a client certificate for {@code alice} with a SEC1 EC P-256 key, and assorted key
 * forms.
 */
final class TestPki {
    static final String OPENSSL = "/usr/bin/openssl";

    final Path dir;
    final Path caKey;
    final Path caCert;
    final Path otherCaCert;
    final Path serverKey;
    final Path serverCert;
    final Path serverChain;
    final Path clientKey;
    final Path clientCert;

    TestPki(Path dir) throws IOException, InterruptedException {
        this.dir = dir;
        caKey = dir.resolve("ca.key");
        caCert = dir.resolve("ca.crt");
        ca(caKey, caCert, "pgloom test CA");
        Path otherKey = dir.resolve("other-ca.key");
        otherCaCert = dir.resolve("other-ca.crt");
        ca(otherKey, otherCaCert, "some other CA");

        serverKey = dir.resolve("server.key");
        openssl("genrsa", "-traditional", "-out", serverKey.toString(), "2048");
        serverCert = dir.resolve("server.crt");
        sign(serverKey, serverCert, "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        serverChain = dir.resolve("server-chain.crt");
        Files.writeString(serverChain, Files.readString(serverCert) + Files.readString(caCert));

        clientKey = dir.resolve("client.key");
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", clientKey.toString());
        clientCert = dir.resolve("client.crt");
        sign(clientKey, clientCert, "/CN=alice", "extendedKeyUsage=clientAuth\n");
    }

    private void ca(Path key, Path cert, String name) throws IOException, InterruptedException {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "3",
                "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign");
    }

    /** A certificate for {@code key} signed by the CA, with the given extension lines. */
    Path sign(Path key, Path cert, String subject, String extensions) throws IOException, InterruptedException {
        Path csr = dir.resolve(cert.getFileName() + ".csr");
        Path ext = dir.resolve(cert.getFileName() + ".ext");
        Files.writeString(ext, extensions);
        openssl("req", "-new", "-key", key.toString(), "-subj", subject, "-out", csr.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(), "-CAcreateserial",
                "-days", "3", "-out", cert.toString(), "-extfile", ext.toString());
        return cert;
    }

    /** Runs openssl; fails the test with its output when it fails. */
    static String openssl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(OPENSSL);
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed (" + rc + "): " + out);
        }
        return out;
    }
}
