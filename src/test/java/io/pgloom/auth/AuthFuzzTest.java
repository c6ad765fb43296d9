package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.pgloom.proto.ProtocolViolationException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded random input for every parser of the package: only the documented exception types may
 * come out. The seed changes per run and is in every failure message; to replay one, put it in
 * {@link #SEED_OVERRIDE}.
 */
class AuthFuzzTest {
    private static final Long SEED_OVERRIDE = null;
    private static final int ROUNDS = 3000;
    private static final String ALPHABET = "nypmrscivea=,+/0123456789AZaz \"\\;#\t\r\n\u0000\u00e9\u2168\uD83D";

    private final long seed = SEED_OVERRIDE != null ? SEED_OVERRIDE : new Random().nextLong();
    private final Random random = new Random(seed);

    @FunctionalInterface
    private interface Target {
        void accept(String input) throws Exception;
    }

    @Test
    void scramServerClientFirst() {
        String valid = "n,,n=user,r=" + ScramVectors.RFC_CLIENT_NONCE + ",x=1";
        fuzz("ScramServer.handleClientFirst", valid, input -> ScramVectors.rfcServer().handleClientFirst(input));
    }

    @Test
    void scramServerClientFinal() {
        fuzz("ScramServer.handleClientFinal", ScramVectors.RFC_CLIENT_FINAL, input -> {
            ScramServer server = ScramVectors.rfcServer();
            server.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST);
            server.handleClientFinal(input);
        });
    }

    @Test
    void mockServer() {
        fuzz("mock ScramServer", "n,,n=,r=abc", input -> {
            ScramServer server = ScramServer.forUnknownUser("ghost", 4096, ScramLimits.DEFAULTS);
            String serverFirst = server.handleClientFirst(input);
            assertThat(server.handleClientFinal("c=biws," + serverFirst.split(",")[0] + ",p="
                    + "A".repeat(43) + "=")).isInstanceOf(ScramServer.Failure.class);
        });
    }

    @Test
    void scramClientServerFirst() {
        // One iteration keeps accidental valid inputs cheap; mutations add at most a few digits.
        String valid = "r=" + ScramVectors.RFC_CLIENT_NONCE + "srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1";
        fuzz("ScramClient.handleServerFirst", valid, input -> rfcClient().handleServerFirst(input));
    }

    @Test
    void scramClientServerFinal() {
        fuzz("ScramClient.verifyServerFinal", ScramVectors.RFC_SERVER_FINAL, input -> {
            ScramClient client = rfcClient();
            client.handleServerFirst(ScramVectors.RFC_SERVER_FIRST);
            client.verifyServerFinal(input);
        });
    }

    @Test
    void secretParse() {
        fuzz("Secret.parse", ScramVectors.PYTHON_SECRET_FOR_SECRET, input -> {
            Secret secret = Secret.parse(input);
            assertThat(Secret.parse(secret.text())).isEqualTo(secret);
            assertThat(secret.toString()).startsWith("Secret[");
        });
        fuzz("Secret.parse md5", "md54d45974e13472b5a0be3533de4666414", input -> Secret.parse(input));
    }

    @Test
    void userListParse() {
        String valid = "; comment\n\"alice\" \"pw\"\n\"b\"\"ob\" \"" + ScramVectors.PYTHON_SECRET_FOR_SECRET + "\" x\n";
        fuzz("UserList.parse", valid, input -> UserList.parse(input, "f"));
    }

    @Test
    void md5AndCleartextVerify() {
        Secret secret = Secret.parse("pw");
        fuzz("Md5.verify/Cleartext.verify", "md5a3576f1ae039b8996bc4fc2720f9c71a", input -> {
            assertThat(Md5.verify(secret, "user", new byte[] {1, 2, 3, 4}, input)).isFalse();
            assertThat(Cleartext.verify(secret, "user", input)).isEqualTo(input.equals("pw"));
        });
    }

    private ScramClient rfcClient() {
        return new ScramClient(ScramVectors.RFC_PASSWORD, null, "user", ScramVectors.RFC_CLIENT_NONCE, ScramLimits.DEFAULTS);
    }

    private void fuzz(String name, String valid, Target target) {
        for (int round = 0; round < ROUNDS; round++) {
            String input = switch (round % 3) {
                case 0 -> mutate(valid);
                case 1 -> randomText();
                default -> new String(randomBytes(),
                        round % 2 == 0 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            };
            try {
                target.accept(input);
            } catch (ProtocolViolationException | AuthenticationFailedException | UserListException expected) {
                assertThat(expected.getMessage()).as("seed %d", seed).isNotBlank();
            } catch (Throwable unexpected) {
                fail(name + " threw " + unexpected + " with seed " + seed + " for input "
                        + escape(input), unexpected);
            }
        }
    }

    private String mutate(String valid) {
        StringBuilder text = new StringBuilder(valid);
        int mutations = 1 + random.nextInt(3);
        for (int i = 0; i < mutations; i++) {
            int at = text.isEmpty() ? 0 : random.nextInt(text.length());
            switch (random.nextInt(4)) {
                case 0 -> text.insert(at, randomChar());
                case 1 -> { if (!text.isEmpty()) text.deleteCharAt(at); }
                case 2 -> { if (!text.isEmpty()) text.setCharAt(at, randomChar()); }
                default -> text.setLength(at);
            }
        }
        return text.toString();
    }

    private String randomText() {
        StringBuilder text = new StringBuilder();
        int length = random.nextInt(120);
        for (int i = 0; i < length; i++) {
            text.append(randomChar());
        }
        return text.toString();
    }

    private byte[] randomBytes() {
        byte[] bytes = new byte[random.nextInt(200)];
        random.nextBytes(bytes);
        return bytes;
    }

    private char randomChar() {
        return ALPHABET.charAt(random.nextInt(ALPHABET.length()));
    }

    private static String escape(String input) {
        StringBuilder out = new StringBuilder();
        input.chars().forEach(c -> out.append(
                c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("\\u%04x", c)));
        return out.toString();
    }
}
