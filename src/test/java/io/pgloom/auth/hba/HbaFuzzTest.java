package io.pgloom.auth.hba;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the HBA file parser ({@link HbaFile#parse}, with {@link AuthFileTokenizer}) and the
 * ident map parser ({@link IdentMap#parse}), then matches what they accepted against a few
 * connections (unix, IPv4 and IPv6 TCP, TLS, replication) and ident lookups. A bad file must be
 * an {@link HbaException} naming the line. {@code @file} includes resolve next to the file, in a
 * directory that does not exist; absolute ones are skipped (reading a file of the operator's
 * choosing is not decoding).
 */
@Tag("fuzz")
@Timeout(30)
class HbaFuzzTest {
    private static final String FILE = "/nonexistent/pg_hba.conf";
    private static final List<ConnectionInfo> CONNECTIONS;

    static {
        try {
            CONNECTIONS = List.of(ConnectionInfo.unix("app", "alice"),
                    ConnectionInfo.tcp(InetAddress.getByName("127.0.0.1"), false, "app", "bob"),
                    ConnectionInfo.tcp(InetAddress.getByName("10.1.2.3"), true, "bob", "bob"),
                    ConnectionInfo.tcp(InetAddress.getByName("::1"), true, "all", "postgres"),
                    ConnectionInfo.tcp(InetAddress.getByName("fe80::1"), false, "x", "y").asReplication());
        } catch (UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void hba(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        if (text.contains("@/")) {
            return;
        }
        Fuzzing.check(data, (1 << 20) + 512L * data.length, () -> {
            HbaFile hba = HbaFile.parse(text, FILE);
            for (ConnectionInfo c : CONNECTIONS) {
                HbaMatch m = hba.match(c);
                require(m.method() != null, "a match without a method");
                require(m.matched() || m.method() == HbaMethod.REJECT, "no rule matched but not rejected");
            }
            hba.mapNames();
            hba.toString();
        }, HbaException.class);
    }

    @FuzzTest(maxDuration = "5m")
    void identMap(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        if (text.contains("@/")) {
            return;
        }
        Fuzzing.check(data, (1 << 20) + 512L * data.length, () -> {
            IdentMap map = IdentMap.parse(text, "/nonexistent/pg_ident.conf");
            for (String name : List.of("m", "map1", "all")) {
                map.allows(name, "alice", "alice");
                map.allows(name, "root", "postgres");
            }
        }, HbaException.class);
    }

    @Test
    void mutatedHbaCorpus() {
        Fuzzing.mutateCorpus(getClass(), "hba", List.of(" ", "\t", "\n", "#", "\\\n", "\"", ",", "@", "+", "/", ".", ":",
                "all", "sameuser", "samerole", "replication", "local", "host", "hostssl", "hostnossl", "md5", "trust",
                "scram-sha-256", "cert", "peer", "reject", "map=", "clientcert=verify-full", "/32", "/128", "255.255.255.0",
                "::1", "0.0.0.0/0"), this::hba);
    }

    @Test
    void mutatedIdentCorpus() {
        Fuzzing.mutateCorpus(getClass(), "identMap", List.of(" ", "\n", "#", "\"", "/", "^", "$", "(", ")", "\\1", "+", "*",
                "all", "@"), this::identMap);
    }
}
