package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CleartextTest {
    @Test
    void plainSecret() {
        assertThat(Cleartext.verify(Secret.parse("pw"), "u", "pw")).isTrue();
        assertThat(Cleartext.verify(Secret.parse("pw"), "u", "pW")).isFalse();
        assertThat(Cleartext.verify(Secret.parse("pw"), "u", "pw ")).isFalse();
    }

    @Test
    void md5Secret() {
        Secret secret = Secret.parse("md54d45974e13472b5a0be3533de4666414"); // "password" for "user"
        assertThat(Cleartext.verify(secret, "user", "password")).isTrue();
        assertThat(Cleartext.verify(secret, "other", "password")).isFalse();
        assertThat(Cleartext.verify(secret, "user", "passwort")).isFalse();
    }

    @Test
    void scramSecret() {
        Secret secret = Secret.parse(ScramVectors.PYTHON_SECRET_FOR_SECRET);
        assertThat(Cleartext.verify(secret, "anyone", "secret")).isTrue();
        assertThat(Cleartext.verify(secret, "anyone", "secrets")).isFalse();
    }

    @Test
    void emptyPasswordsNeverMatch() {
        assertThat(Cleartext.verify(Secret.parse(""), "u", "")).isFalse();
        assertThat(Cleartext.verify(Secret.parse(Md5.storedHash("", "u")), "u", "")).isFalse();
        assertThat(Cleartext.verify(Secret.parse("pw"), "u", null)).isFalse();
    }
}
