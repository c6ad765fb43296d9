package io.pgloom.auth;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the auth_file (userlist.txt) parser from its bytes ({@link UserList#parse(byte[],
 * String)}: strict UTF-8, then one {@code "user" "secret"} per line) and the secrets it holds
 * ({@link Secret#parse}, SCRAM verifiers and MD5 hashes included). A bad file is a
 * {@link UserListException} naming the line, and that message must not contain the secret of the
 * line (it is written to the log).
 */
@Tag("fuzz")
@Timeout(30)
class UserListFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void userList(byte[] data) {
        Fuzzing.check(data, (1 << 20) + 256L * data.length, () -> {
            UserList list;
            try {
                list = UserList.parse(data, "userlist.txt");
            } catch (UserListException e) {
                for (String secret : quotedSecrets(data)) {
                    require(!e.getMessage().contains(secret), "the error shows a secret: " + e.getMessage());
                }
                throw e;
            }
            for (Map.Entry<String, Secret> e : list.secrets().entrySet()) {
                require(!e.getKey().isEmpty(), "an empty user name");
                require(Secret.parse(e.getValue().text()).equals(e.getValue()), "a secret that does not parse back");
                require(e.getValue().toString().startsWith("Secret["), "toString shows more than the kind");
            }
        }, UserListException.class);
    }

    @Test
    void mutatedCorpus() {
        Fuzzing.mutateCorpus(getClass(), "userList", List.of("\"", "\"\"", " ", "\n", "\r\n", ";", "#", "md5", "SCRAM-SHA-256$",
                "$", ":", "=", "4096", "\u00ff", "\u00c3\u00a9", "\ufeff"), this::userList);
    }

    /**
     * The second quoted field of each line when it cannot be part of an error text by chance (8
     * characters or more, one of them outside the lower-case words, digits and punctuation the
     * texts are made of): the secrets an error must not show.
     */
    private static List<String> quotedSecrets(byte[] data) {
        String text = new String(data, java.nio.charset.StandardCharsets.UTF_8);
        List<String> out = new java.util.ArrayList<>();
        for (String line : text.split("\n")) {
            String[] parts = line.split("\"");
            if (parts.length >= 4 && parts[3].length() >= 8 && parts[3].chars().anyMatch(UserListFuzzTest::distinctive)) {
                out.add(parts[3]);
            }
        }
        return out;
    }

    private static boolean distinctive(int c) {
        return !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || " .:\"-_()".indexOf(c) >= 0 || "UTF".indexOf(c) >= 0);
    }
}
