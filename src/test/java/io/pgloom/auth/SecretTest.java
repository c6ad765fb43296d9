package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class SecretTest {
    private static final String MD5 = "md54d45974e13472b5a0be3533de4666414";
    private static final String SCRAM = ScramVectors.PYTHON_SECRET_FOR_SECRET;

    @Test
    void classifiesTheThreeKinds() {
        assertThat(Secret.parse("hunter2")).isEqualTo(new Secret.Plain("hunter2"));
        assertThat(Secret.parse(MD5)).isEqualTo(new Secret.Md5Hash(MD5));
        assertThat(Secret.parse(SCRAM)).isInstanceOf(Secret.Scram.class);
        assertThat(Secret.parse("").kind()).isEqualTo("plain");
    }

    @Test
    void parsesScramFields() {
        Secret.Scram scram = (Secret.Scram) Secret.parse(SCRAM);
        assertThat(scram.iterations()).isEqualTo(4096);
        assertThat(scram.salt()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        assertThat(scram.storedKey()).hasSize(32);
        assertThat(scram.text()).isEqualTo(SCRAM);
        assertThat(scram.kind()).isEqualTo("scram-sha-256");
    }

    @Test
    void malformedScramOrMd5StringsArePlainPasswords() {
        String key = Base64.getEncoder().encodeToString(new byte[32]);
        String shortKey = Base64.getEncoder().encodeToString(new byte[31]);
        String[] notScram = {
            "SCRAM-SHA-256$0:AQID$" + key + ":" + key,
            "SCRAM-SHA-256$-1:AQID$" + key + ":" + key,
            "SCRAM-SHA-256$2147483648:AQID$" + key + ":" + key,
            "SCRAM-SHA-256$4096:$" + key + ":" + key,
            "SCRAM-SHA-256$4096:AQ!D$" + key + ":" + key,
            "SCRAM-SHA-256$4096:AQID$" + shortKey + ":" + key,
            "SCRAM-SHA-256$4096:AQID$" + key + ":" + key + "$",
            "SCRAM-SHA-256$4096:AQID$" + key,
            "SCRAM-SHA-256$4096:AQID",
            "scram-sha-256$4096:AQID$" + key + ":" + key,
            "SCRAM-SHA-256$",
            "md5" + "0".repeat(31),
            "md5" + "g".repeat(32),
        };
        for (String text : notScram) {
            assertThat(Secret.parse(text)).as(text).isEqualTo(new Secret.Plain(text));
        }
        assertThat(Secret.parse("SCRAM-SHA-256$2147483647:AQID$" + key + ":" + key))
                .isInstanceOf(Secret.Scram.class);
    }

    @Test
    void toStringNeverShowsTheSecret() {
        assertThat(Secret.parse("hunter2")).hasToString("Secret[plain]");
        assertThat(Secret.parse(MD5)).hasToString("Secret[md5]");
        assertThat(Secret.parse(SCRAM)).hasToString("Secret[scram-sha-256]");
    }

    @Test
    void scramSecretIsImmutableAndComparesByValue() {
        Secret.Scram scram = (Secret.Scram) Secret.parse(SCRAM);
        scram.salt()[0] = 99;
        scram.storedKey()[0] = 99;
        assertThat(scram.text()).isEqualTo(SCRAM);
        assertThat(Secret.parse(SCRAM)).isEqualTo(scram).hasSameHashCodeAs(scram);
    }
}
