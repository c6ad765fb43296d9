package io.pgloom.net.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * Reads PEM files as PostgreSQL and PgBouncer users have them: private keys in PKCS#8
 * ({@code BEGIN PRIVATE KEY}), PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}) and SEC1 EC ({@code
 * BEGIN EC PRIVATE KEY}) form, certificate chains and CA bundles (several {@code BEGIN
 * CERTIFICATE} blocks, any text between blocks ignored). PKCS#1 and SEC1 keys are wrapped into
 * PKCS#8 here, so no keystore has to be built by hand. Encrypted keys are refused: pgloom has no
 * place for a passphrase, as PgBouncer has none.
 *
 * <p>Every failure is an {@link IOException} with a one-line message naming the file (and the
 * line, where one is to blame) and the problem. Stateless; any thread.
 */
public final class PemFiles {
    private static final String RSA_OID = "1.2.840.113549.1.1.1";
    private static final String RSA_PSS_OID = "1.2.840.113549.1.1.10";
    private static final String EC_OID = "1.2.840.10045.2.1";
    private static final String DSA_OID = "1.2.840.10040.4.1";
    private static final String ED25519_OID = "1.3.101.112";
    private static final String ED448_OID = "1.3.101.113";
    private static final String X25519_OID = "1.3.101.110";
    private static final String X448_OID = "1.3.101.111";

    private PemFiles() {
    }

    /** One {@code -----BEGIN type-----} ... {@code -----END type-----} block. */
    record Block(String type, byte[] der, boolean hasHeaders, int line) {
    }

    /** The private key in {@code file}: exactly one key block; other blocks are skipped. */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        List<Block> keys = new ArrayList<>();
        for (Block b : blocks(file)) {
            switch (b.type()) {
                case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY",
                        "OPENSSH PRIVATE KEY" -> keys.add(b);
                default -> {
                    // EC PARAMETERS before an EC key, or a certificate in a combined file
                }
            }
        }
        if (keys.isEmpty()) {
            throw new IOException(file + ": no private key found (expected BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or"
                    + " BEGIN EC PRIVATE KEY)");
        }
        if (keys.size() > 1) {
            throw new IOException(file + ":" + keys.get(1).line() + ": more than one private key in the file");
        }
        Block b = keys.get(0);
        String where = file + ":" + b.line() + ": ";
        if (b.type().equals("ENCRYPTED PRIVATE KEY") || b.hasHeaders()) {
            throw new IOException(where + "the private key is encrypted; pgloom cannot ask for a passphrase (decrypt it with"
                    + " 'openssl pkey -in " + file.getFileName() + " -out <new file>')");
        }
        try {
            return switch (b.type()) {
                case "PRIVATE KEY" -> pkcs8(b.der());
                case "RSA PRIVATE KEY" -> pkcs8(fromPkcs1(b.der()));
                case "EC PRIVATE KEY" -> pkcs8(fromSec1(b.der()));
                default -> throw new IOException(b.type() + " keys are not supported (convert it with 'openssl pkcs8 -topk8"
                        + " -nocrypt')");
            };
        } catch (IOException e) {
            throw new IOException(where + "bad private key: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IOException(where + "bad private key: " + e.getMessage(), e);
        }
    }

    /**
     * The certificates in {@code file}, in file order (a chain: the leaf first, then its
     * issuers). At least one is required.
     */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> certs = new ArrayList<>();
        CertificateFactory cf;
        try {
            cf = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IOException("X.509 certificates are not available: " + e.getMessage(), e);
        }
        for (Block b : blocks(file)) {
            if (b.type().equals("CERTIFICATE") || b.type().equals("X509 CERTIFICATE")) {
                try {
                    certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(b.der())));
                } catch (CertificateException | ClassCastException e) {
                    throw new IOException(file + ":" + b.line() + ": bad certificate: " + oneLine(e), e);
                }
            }
        }
        if (certs.isEmpty()) {
            throw new IOException(file + ": no certificate found (expected BEGIN CERTIFICATE)");
        }
        return List.copyOf(certs);
    }

    /**
     * Checks that {@code key} belongs to {@code cert} by signing a test message with the key and
     * verifying it with the certificate's public key (OpenSSL's "key values mismatch").
     */
    public static void checkKeyMatches(PrivateKey key, X509Certificate cert, Path keyFile, Path certFile) throws IOException {
        PublicKey pub = cert.getPublicKey();
        if (!pub.getAlgorithm().equals(key.getAlgorithm())) {
            throw new IOException(keyFile + ": private key is " + key.getAlgorithm() + " but the key of the certificate in " + certFile
                    + " is " + pub.getAlgorithm());
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
            case "DSA" -> "SHA256withDSA";
            default -> null; // RSASSA-PSS needs parameters; the handshake will tell
        };
        if (algorithm == null) {
            return;
        }
        try {
            byte[] message = "pgloom key check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(message);
            byte[] signature = s.sign();
            Signature v = Signature.getInstance(algorithm);
            v.initVerify(pub);
            v.update(message);
            if (v.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(keyFile + ": cannot check the private key against " + certFile + ": " + oneLine(e), e);
        }
        throw new IOException(keyFile + ": private key does not match the certificate in " + certFile);
    }

    // ------------------------------------------------------------------ PEM blocks

    static List<Block> blocks(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException | SecurityException e) {
            throw new IOException(file + ": cannot read: " + oneLine(e), e);
        }
        return blocks(text, file.toString());
    }

    /** The PEM blocks of {@code text}; text outside blocks is ignored. */
    static List<Block> blocks(String text, String fileName) throws IOException {
        List<Block> out = new ArrayList<>();
        String[] lines = text.split("\r?\n|\r", -1);
        String type = null;
        int startLine = 0;
        boolean headers = false;
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (type == null) {
                if (line.startsWith("-----BEGIN ") && line.endsWith("-----") && line.length() > 16) {
                    type = line.substring(11, line.length() - 5);
                    startLine = i + 1;
                    headers = false;
                    body.setLength(0);
                }
                continue;
            }
            if (line.startsWith("-----END ")) {
                String endType = line.endsWith("-----") && line.length() > 14 ? line.substring(9, line.length() - 5) : "";
                if (!endType.equals(type)) {
                    throw new IOException(fileName + ":" + (i + 1) + ": expected -----END " + type + "-----");
                }
                byte[] der;
                try {
                    der = Base64.getDecoder().decode(body.toString().replaceAll("\\s+", ""));
                } catch (IllegalArgumentException e) {
                    throw new IOException(fileName + ":" + startLine + ": bad base64 in the " + type.toLowerCase(Locale.ROOT)
                            + " block", e);
                }
                if (der.length == 0) {
                    throw new IOException(fileName + ":" + startLine + ": empty " + type.toLowerCase(Locale.ROOT) + " block");
                }
                out.add(new Block(type, der, headers, startLine));
                type = null;
            } else if (line.indexOf(':') > 0) {
                headers = true; // RFC 1421 headers: Proc-Type: 4,ENCRYPTED and DEK-Info
            } else if (line.startsWith("-----BEGIN ")) {
                throw new IOException(fileName + ":" + startLine + ": -----BEGIN " + type + "----- is not closed");
            } else {
                body.append(line);
            }
        }
        if (type != null) {
            throw new IOException(fileName + ":" + startLine + ": -----BEGIN " + type + "----- is not closed");
        }
        return out;
    }

    // ------------------------------------------------------------------ key forms

    private static PrivateKey pkcs8(byte[] der) throws IOException, GeneralSecurityException {
        String algorithm = switch (algorithmOid(der)) {
            case RSA_OID -> "RSA";
            case RSA_PSS_OID -> "RSASSA-PSS";
            case EC_OID -> "EC";
            case DSA_OID -> "DSA";
            case ED25519_OID -> "Ed25519";
            case ED448_OID -> "Ed448";
            case X25519_OID, X448_OID -> throw new IOException("an X25519/X448 key cannot sign; it cannot serve TLS");
            default -> throw new IOException("unsupported key algorithm " + algorithmOid(der));
        };
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    /** PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier { OID, params }, OCTET STRING } */
    private static String algorithmOid(byte[] der) throws IOException {
        Der.Tlv top = Der.parse(der);
        List<Der.Tlv> parts = top.children();
        if (top.tag() != Der.SEQUENCE || parts.size() < 3 || parts.get(1).tag() != Der.SEQUENCE) {
            throw new IOException("not a PKCS#8 PrivateKeyInfo");
        }
        List<Der.Tlv> alg = parts.get(1).children();
        if (alg.isEmpty()) {
            throw new IOException("not a PKCS#8 PrivateKeyInfo");
        }
        return Der.oidText(alg.get(0));
    }

    /** Wraps an RSAPrivateKey (PKCS#1) into a PrivateKeyInfo (PKCS#8). */
    static byte[] fromPkcs1(byte[] pkcs1) throws IOException {
        Der.Tlv top = Der.parse(pkcs1);
        List<Der.Tlv> fields = top.children();
        if (top.tag() != Der.SEQUENCE || fields.size() < 9 || fields.get(0).tag() != Der.INTEGER) {
            throw new IOException("not a PKCS#1 RSAPrivateKey");
        }
        byte[] algorithm = Der.encode(Der.SEQUENCE, Der.oid(RSA_OID), Der.encode(Der.NULL));
        return Der.encode(Der.SEQUENCE, Der.encode(Der.INTEGER, new byte[] {0}), algorithm, Der.encode(Der.OCTET_STRING, pkcs1));
    }

    /**
     * Wraps an ECPrivateKey (SEC1: version 1, the private key, [0] the named curve, [1] the
     * public key) into a PrivateKeyInfo whose AlgorithmIdentifier names the curve.
     */
    static byte[] fromSec1(byte[] sec1) throws IOException {
        Der.Tlv top = Der.parse(sec1);
        List<Der.Tlv> fields = top.children();
        if (top.tag() != Der.SEQUENCE || fields.size() < 2 || fields.get(0).tag() != Der.INTEGER
                || fields.get(1).tag() != Der.OCTET_STRING) {
            throw new IOException("not a SEC1 ECPrivateKey");
        }
        byte[] curve = null;
        for (Der.Tlv f : fields) {
            if (f.tag() == Der.CONTEXT_0) {
                List<Der.Tlv> inner = f.children();
                if (inner.size() != 1 || inner.get(0).tag() != Der.OID) {
                    throw new IOException("EC key with explicit curve parameters; only named curves are supported");
                }
                curve = Der.reencode(inner.get(0));
            }
        }
        if (curve == null) {
            throw new IOException("EC key without its curve name");
        }
        byte[] algorithm = Der.encode(Der.SEQUENCE, Der.oid(EC_OID), curve);
        return Der.encode(Der.SEQUENCE, Der.encode(Der.INTEGER, new byte[] {0}), algorithm, Der.encode(Der.OCTET_STRING, sec1));
    }

    public static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl >= 0 ? m.substring(0, nl) : m;
    }
}
