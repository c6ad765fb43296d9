package io.pgloom.net.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PemFilesTest {
    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void makeKeys() throws Exception {
        pki = new TestPki(dir);
    }

    private static Path file(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void readsPkcs1RsaKey() throws Exception {
        assertThat(Files.readString(pki.serverKey)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        PrivateKey key = PemFiles.readPrivateKey(pki.serverKey);
        assertThat(key).isInstanceOf(RSAPrivateCrtKey.class);
        X509Certificate cert = PemFiles.readCertificates(pki.serverCert).get(0);
        PemFiles.checkKeyMatches(key, cert, pki.serverKey, pki.serverCert);
    }

    @Test
    void readsPkcs8RsaKey() throws Exception {
        Path pk8 = dir.resolve("rsa-pk8.key");
        TestPki.openssl("pkcs8", "-topk8", "-nocrypt", "-in", pki.serverKey.toString(), "-out", pk8.toString());
        assertThat(Files.readString(pk8)).startsWith("-----BEGIN PRIVATE KEY-----");
        PrivateKey key = PemFiles.readPrivateKey(pk8);
        assertThat(key.getEncoded()).isEqualTo(PemFiles.readPrivateKey(pki.serverKey).getEncoded());
    }

    @Test
    void readsSec1EcKeysOfP256AndP384() throws Exception {
        assertThat(Files.readString(pki.clientKey)).startsWith("-----BEGIN EC PRIVATE KEY-----");
        PrivateKey p256 = PemFiles.readPrivateKey(pki.clientKey);
        assertThat(p256).isInstanceOf(ECPrivateKey.class);
        assertThat(((ECPrivateKey) p256).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        PemFiles.checkKeyMatches(p256, PemFiles.readCertificates(pki.clientCert).get(0), pki.clientKey, pki.clientCert);

        // without -noout openssl writes an EC PARAMETERS block first, which is skipped
        Path p384 = dir.resolve("p384.key");
        TestPki.openssl("ecparam", "-name", "secp384r1", "-genkey", "-out", p384.toString());
        assertThat(Files.readString(p384)).startsWith("-----BEGIN EC PARAMETERS-----");
        ECPrivateKey key = (ECPrivateKey) PemFiles.readPrivateKey(p384);
        assertThat(key.getParams().getCurve().getField().getFieldSize()).isEqualTo(384);
    }

    @Test
    void readsPkcs8EcAndEd25519Keys() throws Exception {
        Path pk8 = dir.resolve("ec-pk8.key");
        TestPki.openssl("pkcs8", "-topk8", "-nocrypt", "-in", pki.clientKey.toString(), "-out", pk8.toString());
        assertThat(((ECPrivateKey) PemFiles.readPrivateKey(pk8)).getS())
                .isEqualTo(((ECPrivateKey) PemFiles.readPrivateKey(pki.clientKey)).getS());

        Path ed = dir.resolve("ed25519.key");
        TestPki.openssl("genpkey", "-algorithm", "ed25519", "-out", ed.toString());
        assertThat(PemFiles.readPrivateKey(ed).getAlgorithm()).isIn("Ed25519", "EdDSA");
    }

    @Test
    void readsChainsAndBundlesInFileOrder() throws Exception {
        List<X509Certificate> chain = PemFiles.readCertificates(pki.serverChain);
        assertThat(chain).hasSize(2);
        assertThat(chain.get(0).getSubjectX500Principal().getName()).isEqualTo("CN=localhost");
        assertThat(chain.get(1).getSubjectX500Principal().getName()).isEqualTo("CN=pgloom test CA");

        // a bundle with text between blocks, as ca-certificates writes them, and CRLF line ends
        String ca = Files.readString(pki.caCert);
        String other = Files.readString(pki.otherCaCert);
        Path bundle = file("bundle.crt", ("# pgloom test CA\nsubject=CN = pgloom test CA\n" + ca + "\n# another\n" + other)
                .replace("\n", "\r\n"));
        assertThat(PemFiles.readCertificates(bundle)).hasSize(2);
    }

    @Test
    void keyAndCertificateInOneFile() throws Exception {
        Path both = file("both.pem", Files.readString(pki.serverCert) + Files.readString(pki.serverKey));
        assertThat(PemFiles.readPrivateKey(both).getAlgorithm()).isEqualTo("RSA");
        assertThat(PemFiles.readCertificates(both)).hasSize(1);
    }

    @Test
    void refusesEncryptedKeysWithAClearMessage() throws Exception {
        Path pk8 = dir.resolve("encrypted-pk8.key");
        TestPki.openssl("pkcs8", "-topk8", "-in", pki.serverKey.toString(), "-out", pk8.toString(), "-passout", "pass:secret");
        assertThat(Files.readString(pk8)).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----");
        assertThatThrownBy(() -> PemFiles.readPrivateKey(pk8)).isInstanceOf(IOException.class)
                .hasMessage(pk8 + ":1: the private key is encrypted; pgloom cannot ask for a passphrase (decrypt it with"
                        + " 'openssl pkey -in encrypted-pk8.key -out <new file>')");

        Path legacy = dir.resolve("encrypted-pkcs1.key");
        TestPki.openssl("rsa", "-traditional", "-aes128", "-in", pki.serverKey.toString(), "-out", legacy.toString(), "-passout",
                "pass:secret");
        assertThat(Files.readString(legacy)).contains("Proc-Type: 4,ENCRYPTED");
        assertThatThrownBy(() -> PemFiles.readPrivateKey(legacy)).hasMessageStartingWith(legacy + ":1: the private key is encrypted");
    }

    @Test
    void errorsNameTheFileAndTheProblem() throws Exception {
        Path missing = dir.resolve("missing.key");
        assertThatThrownBy(() -> PemFiles.readPrivateKey(missing)).isInstanceOf(IOException.class)
                .hasMessageStartingWith(missing + ": cannot read: ");

        Path noKey = file("nokey.pem", Files.readString(pki.caCert));
        assertThatThrownBy(() -> PemFiles.readPrivateKey(noKey)).hasMessage(noKey
                + ": no private key found (expected BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY)");

        Path twoKeys = file("two.key", Files.readString(pki.serverKey) + Files.readString(pki.clientKey));
        assertThatThrownBy(() -> PemFiles.readPrivateKey(twoKeys)).hasMessageMatching(".*two\\.key:\\d+: more than one private key in the file");

        Path unclosed = file("unclosed.key", "junk\n-----BEGIN PRIVATE KEY-----\nMIIB\n");
        assertThatThrownBy(() -> PemFiles.readPrivateKey(unclosed)).hasMessage(unclosed + ":2: -----BEGIN PRIVATE KEY----- is not closed");

        Path mismatched = file("mismatched.key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
        assertThatThrownBy(() -> PemFiles.readPrivateKey(mismatched)).hasMessage(mismatched + ":3: expected -----END PRIVATE KEY-----");

        Path badBase64 = file("base64.key", "-----BEGIN PRIVATE KEY-----\nMII*B\n-----END PRIVATE KEY-----\n");
        assertThatThrownBy(() -> PemFiles.readPrivateKey(badBase64)).hasMessage(badBase64 + ":1: bad base64 in the private key block");

        Path garbage = file("garbage.key", "-----BEGIN RSA PRIVATE KEY-----\nAAECAwQF\n-----END RSA PRIVATE KEY-----\n");
        assertThatThrownBy(() -> PemFiles.readPrivateKey(garbage)).hasMessageStartingWith(garbage + ":1: bad private key: ");

        Path noCert = file("nocert.crt", "hello\n");
        assertThatThrownBy(() -> PemFiles.readCertificates(noCert)).hasMessage(noCert + ": no certificate found (expected BEGIN CERTIFICATE)");

        Path badCert = file("bad.crt", "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> PemFiles.readCertificates(badCert)).hasMessageStartingWith(badCert + ":1: bad certificate: ");
    }

    @Test
    void detectsAKeyThatDoesNotMatchTheCertificate() throws Exception {
        PrivateKey rsa = PemFiles.readPrivateKey(pki.serverKey);
        X509Certificate ca = PemFiles.readCertificates(pki.caCert).get(0);
        assertThatThrownBy(() -> PemFiles.checkKeyMatches(rsa, ca, pki.serverKey, pki.caCert))
                .hasMessage(pki.serverKey + ": private key does not match the certificate in " + pki.caCert);
        X509Certificate client = PemFiles.readCertificates(pki.clientCert).get(0);
        assertThatThrownBy(() -> PemFiles.checkKeyMatches(rsa, client, pki.serverKey, pki.clientCert))
                .hasMessage(pki.serverKey + ": private key is RSA but the key of the certificate in " + pki.clientCert + " is EC");
    }
}
