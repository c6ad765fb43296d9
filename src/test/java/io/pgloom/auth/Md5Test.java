package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.proto.ProtocolViolationException;
import org.junit.jupiter.api.Test;

class Md5Test {
    // Golden values from Python: "md5" + hashlib.md5(b"password" + b"user").hexdigest(), and
    // "md5" + md5(inner_hex + bytes([1, 2, 3, 4])).
    private static final String STORED_PASSWORD_USER = "md54d45974e13472b5a0be3533de4666414";
    private static final byte[] SALT = {1, 2, 3, 4};
    private static final String SALTED_PASSWORD_USER = "md5a3576f1ae039b8996bc4fc2720f9c71a";
    private static final byte[] ALICE_SALT = {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef};
    private static final String SALTED_SECRET_ALICE = "md53e1d73ba00a55e8805aa0277d29996c5";

    @Test
    void storedHashMatchesPostgresScheme() {
        assertThat(Md5.storedHash("password", "user")).isEqualTo(STORED_PASSWORD_USER);
        assertThat(Md5.storedHash("secret", "alice")).isEqualTo("md54a0a68b43b6cd5cf266fa02f196e2371");
    }

    @Test
    void saltedResponseFromPlainOrFromStoredHashIsTheSame() {
        assertThat(Md5.saltedResponse("password", "user", SALT)).isEqualTo(SALTED_PASSWORD_USER);
        assertThat(Md5.saltedResponse(STORED_PASSWORD_USER, "user", SALT)).isEqualTo(SALTED_PASSWORD_USER);
        assertThat(Md5.saltedResponse("secret", "alice", ALICE_SALT)).isEqualTo(SALTED_SECRET_ALICE);
    }

    @Test
    void saltMustBeFourBytes() {
        assertThatThrownBy(() -> Md5.saltedResponse("pw", "u", new byte[3]))
                .isExactlyInstanceOf(ProtocolViolationException.class);
        assertThatThrownBy(() -> Md5.saltedResponse("pw", "u", null))
                .isExactlyInstanceOf(ProtocolViolationException.class);
    }

    @Test
    void verifyAcceptsTheRightResponseForPlainAndMd5Secrets() {
        assertThat(Md5.verify(Secret.parse("password"), "user", SALT, SALTED_PASSWORD_USER)).isTrue();
        assertThat(Md5.verify(Secret.parse(STORED_PASSWORD_USER), "user", SALT, SALTED_PASSWORD_USER)).isTrue();
    }

    @Test
    void verifyRejectsWrongResponses() {
        Secret secret = Secret.parse("password");
        assertThat(Md5.verify(secret, "user", SALT, SALTED_SECRET_ALICE)).isFalse();
        assertThat(Md5.verify(secret, "other", SALT, SALTED_PASSWORD_USER)).isFalse();
        assertThat(Md5.verify(secret, "user", ALICE_SALT, SALTED_PASSWORD_USER)).isFalse();
        assertThat(Md5.verify(secret, "user", SALT, SALTED_PASSWORD_USER.toUpperCase())).isFalse();
        assertThat(Md5.verify(secret, "user", SALT, "")).isFalse();
        assertThat(Md5.verify(secret, "user", SALT, null)).isFalse();
    }

    @Test
    void verifyNeverMatchesEmptyOrScramSecrets() {
        String responseForEmpty = Md5.saltedResponse("", "user", SALT);
        assertThat(Md5.verify(new Secret.Plain(""), "user", SALT, responseForEmpty)).isFalse();
        Secret scram = Secret.parse(ScramVectors.PYTHON_SECRET_FOR_SECRET);
        assertThat(Md5.verify(scram, "user", SALT, Md5.saltedResponse("secret", "user", SALT))).isFalse();
    }

    @Test
    void storedHashRecognitionFollowsPostgres() {
        assertThat(Md5.isStoredHash(STORED_PASSWORD_USER)).isTrue();
        assertThat(Md5.isStoredHash(STORED_PASSWORD_USER.toUpperCase())).isFalse();
        assertThat(Md5.isStoredHash("md5" + "A".repeat(32))).isFalse();
        assertThat(Md5.isStoredHash(STORED_PASSWORD_USER + "0")).isFalse();
        assertThat(Md5.isStoredHash(STORED_PASSWORD_USER.substring(1))).isFalse();
        assertThat(Md5.isStoredHash(null)).isFalse();
    }
}
