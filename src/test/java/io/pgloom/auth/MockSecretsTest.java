package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Stand-in secrets for unknown users: well-formed, stable per name, never matching a guess. */
class MockSecretsTest {

    @Test
    void md5StandInIsAStoredHashStablePerName() {
        Secret a = MockSecrets.md5("nobody");
        assertThat(a).isInstanceOf(Secret.Md5Hash.class);
        assertThat(Md5.isStoredHash(a.text())).isTrue();
        assertThat(MockSecrets.md5("nobody")).isEqualTo(a);
        assertThat(MockSecrets.md5("somebody")).isNotEqualTo(a);
        byte[] salt = {1, 2, 3, 4};
        assertThat(Md5.verify(a, "nobody", salt, Md5.saltedResponse("nobody", "nobody", salt))).isFalse();
    }

    @Test
    void scramStandInCostsTheGivenIterationsAndMatchesNothing() {
        Secret s = MockSecrets.scram("nobody", 4096);
        assertThat(s).isInstanceOfSatisfying(Secret.Scram.class, scram -> assertThat(scram.iterations()).isEqualTo(4096));
        assertThat(MockSecrets.scram("nobody", 4096)).isEqualTo(s);
        assertThat(Cleartext.verify(s, "nobody", "password")).isFalse();
    }
}
