package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.junit.jupiter.api.Test;

class ScramKeysTest {
    private static final byte[] SALT = new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    @Test
    void pbkdf2MatchesTheJdkImplementation() throws Exception {
        byte[] ours = ScramCrypto.pbkdf2("pencil".getBytes(StandardCharsets.UTF_8), ScramVectors.RFC_SALT, 4096);
        SecretKeyFactory factory = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
        byte[] jdk = factory.generateSecret(new PBEKeySpec("pencil".toCharArray(), ScramVectors.RFC_SALT, 4096, 256))
                .getEncoded();
        assertThat(ours).isEqualTo(jdk);
    }

    @Test
    void derivedKeysMatchTheSecretBuiltByPython() {
        Secret.Scram expected = (Secret.Scram) Secret.parse(ScramVectors.PYTHON_SECRET_FOR_SECRET);
        ScramKeys keys = ScramKeys.derive("secret", SALT, 4096);
        assertThat(keys.toSecret(SALT, 4096)).isEqualTo(expected);
        assertThat(keys.storedKey()).isEqualTo(ScramCrypto.sha256(keys.clientKey()));
    }

    @Test
    void newSecretUsesARandomSaltAndVerifiesTheSamePassword() {
        Secret.Scram first = ScramKeys.newSecret("correct horse", 4096);
        Secret.Scram second = ScramKeys.newSecret("correct horse", 4096);
        assertThat(first.salt()).hasSize(ScramKeys.SALT_LENGTH).isNotEqualTo(second.salt());
        assertThat(Secret.parse(first.text())).isEqualTo(first);
        assertThat(Cleartext.verify(first, "anyone", "correct horse")).isTrue();
        assertThat(Cleartext.verify(first, "anyone", "correct horsE")).isFalse();
    }

    @Test
    void saslPrepNormalizesNonAsciiPasswords() {
        ScramKeys ix = ScramKeys.derive("IX", SALT, 64);
        // U+2168 ROMAN NUMERAL NINE is "IX" under NFKC; U+00AD SOFT HYPHEN maps to nothing.
        assertThat(ScramKeys.derive("\u2168", SALT, 64).serverKey()).isEqualTo(ix.serverKey());
        assertThat(ScramKeys.derive("I\u00ADX", SALT, 64).serverKey()).isEqualTo(ix.serverKey());
        // A non-ASCII space becomes U+0020; composed and decomposed forms agree.
        assertThat(ScramKeys.derive("a\u00A0b\u00E9", SALT, 64).serverKey())
                .isEqualTo(ScramKeys.derive("a be\u0301", SALT, 64).serverKey());
        // The same password in Python: pbkdf2_hmac('sha256', b'IX', bytes(range(1,17)), 4096).
        assertThat(Base64.getEncoder().encodeToString(ScramKeys.derive("\u2168", SALT, 4096).serverKey()))
                .isEqualTo("vB6Ikw4NfkHTXEDRk3UAu2je5F8yfw57a4fh3X2HMI8=");
    }

    @Test
    void saslPrepFailureFallsBackToTheRawBytes() {
        // ASCII is never prepared, control characters included.
        assertThat(SaslPrep.prepare("a\u0007b")).isEqualTo("a\u0007b".getBytes(StandardCharsets.UTF_8));
        // A control character, private use, a bidi violation, an empty result: the unmapped UTF-8
        // (NFKC would have turned U+2168 into "IX").
        for (String raw : new String[] {"\u2168\u0007", "\uE000\u2168", "\u05D0\u2168", "\u00AD"}) {
            assertThat(SaslPrep.prepare(raw)).as(raw).isEqualTo(raw.getBytes(StandardCharsets.UTF_8));
        }
        // Right-to-left text that starts and ends with RandALCat characters is fine.
        assertThat(SaslPrep.prepare("\u05D0\u05D1")).isEqualTo("\u05D0\u05D1".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void emptyPasswordsDeriveWithoutFailing() {
        // HMAC with an empty key equals HMAC with a single zero byte (the key is zero-padded).
        assertThat(ScramCrypto.hmac(new byte[0], "x")).isEqualTo(ScramCrypto.hmac(new byte[1], "x"));
        assertThat(ScramKeys.derive("", SALT, 16).clientKey()).hasSize(32);
    }

    @Test
    void derivationIsCachedPerPasswordSaltAndIterations() {
        ScramKeyCache cache = new ScramKeyCache(2);
        int[] derivations = {0};
        byte[] password = "pw".getBytes(StandardCharsets.UTF_8);
        ScramKeys keys = ScramKeys.of(new byte[32], new byte[32]);
        java.util.function.Supplier<ScramKeys> derive = () -> {
            derivations[0]++;
            return keys;
        };
        assertThat(cache.get(password, SALT, 4096, derive)).isSameAs(keys);
        assertThat(cache.get(password, SALT, 4096, derive)).isSameAs(keys);
        assertThat(derivations[0]).isEqualTo(1);
        cache.get(password, SALT, 4097, derive);
        cache.get("pw2".getBytes(StandardCharsets.UTF_8), SALT, 4096, derive);
        cache.get(password, new byte[] {9}, 4096, derive);
        assertThat(derivations[0]).isEqualTo(4);
        assertThat(cache.size()).isEqualTo(2); // bounded, least recently used evicted
        assertThat(cache.hits()).isEqualTo(1);
        assertThat(cache.misses()).isEqualTo(4);
    }

    @Test
    void sharedCacheServesRepeatedDerivations() {
        String password = "cache me " + System.nanoTime();
        long missesBefore = ScramKeyCache.SHARED.misses();
        ScramKeys first = ScramKeys.derive(password, SALT, 4096);
        assertThat(ScramKeyCache.SHARED.misses()).isEqualTo(missesBefore + 1);
        assertThat(ScramKeys.derive(password, SALT, 4096)).isSameAs(first);
        assertThat(ScramKeyCache.SHARED.misses()).isEqualTo(missesBefore + 1);
        assertThat(first).hasToString("ScramKeys[redacted]");
    }

    @Test
    void keysAreCopiedInAndOut() {
        byte[] clientKey = new byte[32];
        ScramKeys keys = ScramKeys.of(clientKey, new byte[32]);
        clientKey[0] = 1;
        keys.clientKey()[1] = 1;
        assertThat(keys.clientKey()).isEqualTo(new byte[32]);
    }
}
