package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 7's hardening cases, each driven by a raw-socket client ({@link RawPg}) and, for the
 * server side, by a raw-socket fake server ({@link FakePg}): a second StartupMessage during SCRAM,
 * overlong SCRAM nonces and messages from the client and from the server, ErrorResponses without
 * SQLSTATE from the server, lying length fields, unknown users going through the whole SCRAM or
 * MD5 exchange and failing exactly like a wrong password, and the failed-login limit per address.
 * Each bad connection must end alone, promptly (the read timeout is far below
 * client_login_timeout), with an error to the client and a reason in the log; pgloom serves on.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AuthHardeningIT {

    private static final Duration LOG_WAIT = Duration.ofSeconds(10);
    /** Well below client_login_timeout: a close must not wait for the login timeout. */
    private static final Duration PROMPT = Duration.ofSeconds(5);
    private static final List<String> FAKE_DATABASES = List.of("fake_first", "fake_nonce", "fake_final", "fake_huge",
            "fake_login_error", "fake_empty_error", "fake_query", "fake_huge_row", "fake_big_login");

    private static PgCluster pg;
    private static FakePg fake;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        fake = FakePg.start(scripts());
        String hba = "host md5db all 127.0.0.1/32 md5\n"
                + "host " + String.join(",", FAKE_DATABASES) + " all 127.0.0.1/32 trust\n"
                + "host all all 127.0.0.1/32 scram-sha-256\n";
        PgloomProcess.Builder b = PgloomProcess.builder()
                .set("auth_type", "hba")
                .file("hba.conf", hba)
                .set("pool_mode", "session")
                .set("client_login_timeout", 60)
                .set("ignore_startup_parameters", "extra_float_digits")
                .user("app", "apppass")
                .user("md5user", "md5pass")
                .database("app", pg, "app")
                .database("md5db", pg, "app");
        b.set("auth_hba_file", b.dir().resolve("hba.conf").toString());
        for (String db : FAKE_DATABASES) {
            b.database(db, Map.of("host", "127.0.0.1", "port", fake.port(), "dbname", db, "user", "fakeuser",
                    "password", "fakepass"));
        }
        pgloom = b.start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    /** After every case: pgloom still runs and logs a client in. */
    @AfterEach
    void stillServing() throws SQLException {
        assertThat(pgloom.isAlive()).as("pgloom process alive").isTrue();
        try (Connection c = Sql.connect(pgloom, "app", "app", "apppass", "")) {
            assertThat(Sql.value(c, "select 'serving'")).isEqualTo("serving");
        }
    }

    // *** Raw client helpers ***

    private static RawPg connect() {
        return RawPg.connect(pgloom, PROMPT);
    }

    private static byte[] startup(String user, String db) {
        return RawPg.startupPacket(new LinkedHashMap<>(Map.of("user", user, "database", db)));
    }

    /** SASLInitialResponse: mechanism, then {@code declaredLength} as the data length, then the data. */
    private static byte[] saslInitial(int declaredLength, byte[] data) {
        return RawPg.message('p', RawPg.concat(RawPg.cstring("SCRAM-SHA-256"),
                ByteBuffer.allocate(4).putInt(declaredLength).array(), data));
    }

    private static byte[] saslInitial(String clientFirst) {
        byte[] data = clientFirst.getBytes(StandardCharsets.UTF_8);
        return saslInitial(data.length, data);
    }

    private static byte[] saslResponse(String data) {
        return RawPg.message('p', data.getBytes(StandardCharsets.UTF_8));
    }

    /** The authentication request code of an 'R' message. */
    private static int authCode(RawPg.Message m) {
        assertThat(m.tag()).as(m.toString()).isEqualTo('R');
        return ByteBuffer.wrap(m.body()).getInt();
    }

    /** The data after the code of an 'R' message (SASL data, MD5 salt). */
    private static String authData(RawPg.Message m) {
        return new String(m.body(), 4, m.body().length - 4, StandardCharsets.UTF_8);
    }

    /** Starts a SCRAM login as {@code user}: returns the raw client after AuthenticationSASL. */
    private static RawPg scramStarted(String user) throws IOException {
        RawPg raw = connect();
        raw.send(startup(user, "app"));
        assertThat(authCode(raw.read())).as("AuthenticationSASL").isEqualTo(10);
        return raw;
    }

    /** Reads to the close; the last message must be a FATAL with {@code sqlState}; returns its text. */
    private static String fatalThenClose(RawPg raw, String sqlState) throws IOException {
        List<RawPg.Message> got = raw.readUntilClosed();
        assertThat(got).as("no AuthenticationOk").noneMatch(m -> m.tag() == 'R' && ByteBuffer.wrap(m.body()).getInt() == 0);
        assertThat(got).as("an ErrorResponse before the close").isNotEmpty();
        RawPg.Message last = got.getLast();
        assertThat(last.tag()).as(got.toString()).isEqualTo('E');
        assertThat(last.sqlState()).as(last.toString()).isEqualTo(sqlState);
        return last.errorMessage();
    }

    private static void awaitClose(RawPg raw, String reason) {
        pgloom.waitForLog(Pattern.quote(raw.logAddress() + "closing because: " + reason), LOG_WAIT);
    }

    /** As {@link #awaitClose(RawPg, String)}, and the close line names {@code dbAndUser} ("app/app"). */
    private static void awaitClose(RawPg raw, String dbAndUser, String reason) {
        pgloom.waitForLog(Pattern.quote(" " + dbAndUser + raw.logAddress() + "closing because: " + reason), LOG_WAIT);
    }

    private static void sendIgnoringReset(RawPg raw, byte[] bytes) {
        try {
            raw.send(bytes);
        } catch (IOException e) {
            // pgloom may close before it read everything; what it answered and logged is what counts
        }
    }

    // *** A second StartupMessage during SCRAM (PgBouncer CVE-2026-107350) ***

    @Test
    void secondStartupMessageBeforeTheSaslInitialResponse() throws IOException {
        try (RawPg raw = scramStarted("app")) {
            raw.send(startup("postgres", "app"));
            String text = fatalThenClose(raw, "08P01");
            assertThat(text).isEqualTo("unexpected startup packet during authentication");
            // the connection is still app's when it closes, and never became postgres's
            awaitClose(raw, "app/app", "unexpected startup packet during authentication");
            assertThat(pgloom.log()).doesNotContain("/postgres" + raw.logAddress());
        }
    }

    @Test
    void secondStartupMessageInTheMiddleOfTheExchange() throws IOException {
        try (RawPg raw = scramStarted("app")) {
            raw.send(saslInitial("n,,n=,r=rOprNGfwEbeRWgbNEkqO"));
            assertThat(authCode(raw.read())).as("AuthenticationSASLContinue").isEqualTo(11);
            raw.send(startup("md5user", "app"));
            assertThat(fatalThenClose(raw, "08P01")).isEqualTo("unexpected startup packet during authentication");
            awaitClose(raw, "app/app", "unexpected startup packet during authentication");
            assertThat(pgloom.log()).doesNotContain("/md5user" + raw.logAddress());
        }
    }

    // *** Overlong SCRAM messages from the client ***

    @Test
    void overlongClientNonceAndClientFirstMessage() throws IOException {
        try (RawPg raw = scramStarted("app")) {
            raw.send(saslInitial("n,,n=,r=" + "x".repeat(2000)));
            assertThat(fatalThenClose(raw, "08P01"))
                    .isEqualTo("malformed SCRAM client-first-message: nonce must be 1 to 1024 characters (scram_max_nonce_length)");
        }
        try (RawPg raw = scramStarted("app")) {
            raw.send(saslInitial("n,,n=,r=" + "x".repeat(5000)));
            assertThat(fatalThenClose(raw, "08P01")).isEqualTo("SCRAM client-first-message longer than 4096 bytes (scram_max_message_size)");
            awaitClose(raw, "SCRAM client-first-message longer than 4096 bytes (scram_max_message_size)");
        }
    }

    @Test
    void overlongClientFinalMessage() throws IOException {
        try (RawPg raw = scramStarted("app")) {
            raw.send(saslInitial("n,,n=,r=abc"));
            authCode(raw.read());
            raw.send(saslResponse("c=biws,r=abc" + "y".repeat(5000) + ",p=AAAA"));
            assertThat(fatalThenClose(raw, "08P01")).isEqualTo("SCRAM client-final-message longer than 4096 bytes (scram_max_message_size)");
        }
        try (RawPg raw = scramStarted("app")) {
            raw.send(saslInitial("n,,n=,r=abc"));
            authCode(raw.read());
            sendIgnoringReset(raw, saslResponse("c=biws," + "z".repeat(70_000)));
            assertThat(fatalThenClose(raw, "08P01")).isEqualTo("message too large (70012 bytes) during login (client_login_max_packet_size 65536)");
        }
    }

    // *** Lying length fields ***

    @Test
    void saslInitialResponseLengthsThatDoNotFit() throws IOException {
        byte[] data = "n,,n=,r=abc".getBytes(StandardCharsets.US_ASCII);
        for (int declared : new int[] {-2, Integer.MIN_VALUE, Integer.MAX_VALUE, data.length + 1, data.length - 1}) {
            try (RawPg raw = scramStarted("app")) {
                raw.send(saslInitial(declared, data));
                assertThat(fatalThenClose(raw, "08P01")).as("declared %d", declared)
                        .isEqualTo("invalid SASLInitialResponse length " + declared);
            }
        }
    }

    @Test
    void passwordMessageAndStartupPacketLengthOverflows() throws IOException {
        try (RawPg raw = scramStarted("app")) {
            raw.send(RawPg.header('p', Integer.MAX_VALUE));
            assertThat(fatalThenClose(raw, "08P01"))
                    .isEqualTo("message too large (2147483648 bytes, max_packet_size 2147483647)");
        }
        try (RawPg raw = scramStarted("app")) {
            raw.send(RawPg.header('p', -1));
            assertThat(fatalThenClose(raw, "08P01")).isEqualTo("invalid message length -1");
        }
        for (int len : new int[] {-1, Integer.MIN_VALUE}) {
            try (RawPg raw = connect()) {
                raw.send(ByteBuffer.allocate(8).putInt(len).putInt(196608).array());
                assertThat(fatalThenClose(raw, "08P01")).isEqualTo("invalid startup packet length " + len);
            }
        }
    }

    // *** Unknown users: the whole exchange, then the same failure as a wrong password ***

    @Test
    void unknownUserGoesThroughTheWholeScramExchange() throws IOException {
        ScramAttempt unknown = scramWithWrongProof("nobody_here");
        ScramAttempt again = scramWithWrongProof("nobody_here");
        ScramAttempt known = scramWithWrongProof("app");
        assertThat(unknown.iterations()).isEqualTo(known.iterations()).isEqualTo("4096");
        assertThat(unknown.salt()).as("a fixed salt per unknown name, as a real user has").isEqualTo(again.salt());
        assertThat(Base64.getDecoder().decode(unknown.salt())).hasSameSizeAs(Base64.getDecoder().decode(known.salt()));
        assertThat(unknown.error().body()).as("the very same ErrorResponse").isEqualTo(known.error().body());
        assertThat(unknown.error().errorMessage()).isEqualTo("SASL authentication failed");
        assertThat(unknown.error().sqlState()).isEqualTo("28P01");
    }

    private record ScramAttempt(String salt, String iterations, RawPg.Message error) {
    }

    private static ScramAttempt scramWithWrongProof(String user) throws IOException {
        try (RawPg raw = scramStarted(user)) {
            raw.send(saslInitial("n,,n=,r=clientnonce"));
            RawPg.Message cont = raw.read();
            assertThat(authCode(cont)).as("AuthenticationSASLContinue for " + user).isEqualTo(11);
            Matcher m = Pattern.compile("^r=(clientnonce[^,]+),s=([^,]+),i=(\\d+)$").matcher(authData(cont));
            assertThat(m.matches()).as(authData(cont)).isTrue();
            String proof = Base64.getEncoder().encodeToString(new byte[32]);
            raw.send(saslResponse("c=biws,r=" + m.group(1) + ",p=" + proof));
            List<RawPg.Message> end = raw.readUntilClosed();
            assertThat(end).as(user + ": one FATAL, nothing else").hasSize(1);
            awaitClose(raw, "SASL authentication failed");
            return new ScramAttempt(m.group(2), m.group(3), end.getFirst());
        }
    }

    @Test
    void unknownUserGoesThroughTheWholeMd5Exchange() throws IOException {
        RawPg.Message unknown = md5WithWrongAnswer("nobody_here");
        RawPg.Message known = md5WithWrongAnswer("md5user");
        assertThat(unknown.body()).as("the very same ErrorResponse").isEqualTo(known.body());
        assertThat(unknown.errorMessage()).isEqualTo("password authentication failed");
        assertThat(unknown.sqlState()).isEqualTo("28P01");
    }

    private static RawPg.Message md5WithWrongAnswer(String user) throws IOException {
        try (RawPg raw = connect()) {
            raw.send(startup(user, "md5db"));
            RawPg.Message challenge = raw.read();
            assertThat(authCode(challenge)).as("AuthenticationMD5Password for " + user).isEqualTo(5);
            assertThat(challenge.body()).hasSize(8);
            raw.send(RawPg.message('p', RawPg.cstring("md5" + "0".repeat(32))));
            List<RawPg.Message> end = raw.readUntilClosed();
            assertThat(end).as(user + ": one FATAL, nothing else").hasSize(1);
            return end.getFirst();
        }
    }

    // *** The server side: a fake server misbehaving during pgloom's login ***

    /** A client logging in (trust) to a fake database: pgloom's server login fails, and the client hears why. */
    private static String serverLoginError(String db, String sqlState) throws IOException {
        try (RawPg raw = connect()) {
            raw.send(startup("app", db));
            String text = fatalThenClose(raw, sqlState);
            pgloom.waitForLog(Pattern.quote(db + "/fakeuser@127.0.0.1:" + fake.port() + " ") + ".*closing because: login failed",
                    LOG_WAIT);
            return text;
        }
    }

    @Test
    void overlongScramAndLoginMessagesFromTheServerFailTheLogin() throws IOException {
        assertThat(serverLoginError("fake_first", "08P01"))
                .isEqualTo("server login failed: SCRAM server-first-message longer than 4096 bytes (scram_max_message_size)");
        assertThat(serverLoginError("fake_nonce", "08P01"))
                .isEqualTo("server login failed: malformed SCRAM server-first-message: nonce must be 1 to 1024 characters"
                        + " (scram_max_nonce_length)");
        assertThat(serverLoginError("fake_final", "08P01"))
                .isEqualTo("server login failed: SCRAM server-final-message longer than 4096 bytes (scram_max_message_size)");
        assertThat(serverLoginError("fake_huge", "08P01"))
                .isEqualTo("server login failed: message too large (2147483648 bytes, max_packet_size 2147483647)");
        assertThat(serverLoginError("fake_big_login", "08P01")).isEqualTo(
                "server login failed: message too large (2097153 bytes) during login (server_login_max_packet_size 1048576)");
        pgloom.waitForLog("fake_first/fakeuser@\\S+ server login failed: SCRAM server-first-message longer than 4096 bytes",
                LOG_WAIT);
        assertThat(fake.failures()).isEmpty();
    }

    @Test
    void errorResponsesWithoutSqlstateFromTheServer() throws IOException {
        // at login: pgloom's connection_failure stands in for the missing code
        assertThat(serverLoginError("fake_login_error", "08006")).isEqualTo("no sqlstate here");
        pgloom.waitForLog("fake_login_error/fakeuser@\\S+ server login failed: no sqlstate here", LOG_WAIT);
        assertThat(serverLoginError("fake_empty_error", "08006")).isEqualTo("server login failed");
        // in a session: passed on as it is, and the session goes on
        try (RawPg raw = RawPg.login(pgloom, "fake_query", "app")) {
            raw.send(RawPg.query("select 1"));
            List<RawPg.Message> first = raw.readUntil('Z');
            assertThat(first).anyMatch(m -> m.tag() == 'E' && m.errorMessage().equals("no sqlstate in this error")
                    && m.sqlState().isEmpty());
            raw.send(RawPg.query("select 2"));
            List<RawPg.Message> second = raw.readUntil('Z');
            assertThat(second).as("an ErrorResponse with no field at all").anyMatch(m -> m.tag() == 'E'
                    && m.errorMessage().isEmpty() && m.sqlState().isEmpty());
            raw.send(RawPg.query("select 3"));
            List<RawPg.Message> third = raw.readUntil('Z');
            assertThat(third).anyMatch(m -> m.tag() == 'C');
        }
        assertThat(fake.failures()).isEmpty();
    }

    @Test
    void serverMessageLengthOverflowClosesThatServerAndItsClient() throws IOException {
        try (RawPg raw = RawPg.login(pgloom, "fake_huge_row", "app")) {
            raw.send(RawPg.query("select 1"));
            String text = fatalThenClose(raw, "08P01");
            assertThat(text).isEqualTo("server message too large (2147483648 bytes, max_packet_size 2147483647)");
        }
        pgloom.waitForLog("fake_huge_row/fakeuser@\\S+ closing because: server message too large", LOG_WAIT);
    }

    // *** client_login_failure_limit ***

    @Test
    void failedLoginsFromOneAddressAreLimitedWhenConfigured() throws IOException, SQLException {
        try (PgloomProcess limited = PgloomProcess.builder()
                .set("auth_type", "scram-sha-256")
                .set("client_login_failure_limit", 3)
                .set("client_login_failure_window", 2)
                .set("ignore_startup_parameters", "extra_float_digits")
                .user("app", "apppass")
                .database("app", pg, "app")
                .start()) {
            for (int i = 0; i < 3; i++) {
                SQLException wrong = Sql.error(() -> Sql.connect(limited, "app", "app", "wrong", "").close());
                assertThat(wrong.getSQLState()).as(wrong.toString()).isEqualTo("28P01");
            }
            limited.waitForLog("client_login_failure_limit: 3 failed logins from 127.0.0.1, its logins are refused for 2s",
                    LOG_WAIT);
            SQLException refused = Sql.error(() -> Sql.connect(limited, "app", "app", "apppass", "").close());
            assertThat(refused.getSQLState()).as(refused.toString()).isEqualTo("28000");
            assertThat(refused.getMessage()).contains("too many failed logins from this address (client_login_failure_limit)");
            // refused before any password is asked for
            try (RawPg raw = RawPg.connect(limited, PROMPT)) {
                raw.send(startup("app", "app"));
                List<RawPg.Message> got = raw.readUntilClosed();
                assertThat(got).as(got.toString()).hasSize(1).allMatch(m -> m.tag() == 'E');
            }
            // unix sockets are not limited
            assertThat(Psql.toSocket(limited, "app", "app", "apppass").value("select 'unix'")).isEqualTo("unix");
            // after the window, TCP logins work again
            Wait.untilSucceeds("a TCP login after client_login_failure_window", Duration.ofSeconds(10), () -> {
                try (Connection c = Sql.connect(limited, "app", "app", "apppass", "")) {
                    return Sql.value(c, "select 1");
                }
            });
        }
    }

    // *** The fake server's scripts ***

    private static Map<String, FakePg.Script> scripts() {
        Map<String, FakePg.Script> s = new LinkedHashMap<>();
        s.put("fake_first", c -> {
            serverFirst(c, n -> "r=" + n + "x".repeat(5000) + ",s=c2FsdHNhbHRzYWx0,i=4096");
            c.awaitClose();
        });
        s.put("fake_nonce", c -> {
            serverFirst(c, n -> "r=" + n + "x".repeat(2000) + ",s=c2FsdHNhbHRzYWx0,i=4096");
            c.awaitClose();
        });
        s.put("fake_final", c -> {
            serverFirst(c, n -> "r=" + n + "srv,s=c2FsdHNhbHRzYWx0,i=4096");
            RawPg.Message clientFinal = c.read();
            if (clientFinal.tag() != 'p') {
                throw new IOException("expected SASLResponse, got " + clientFinal);
            }
            c.send(FakePg.authSaslFinal("v=" + "A".repeat(5000)));
            c.awaitClose();
        });
        s.put("fake_huge", c -> {
            c.send(FakePg.authSasl());
            c.read();
            c.send(RawPg.header('R', Integer.MAX_VALUE));
            c.awaitClose();
        });
        s.put("fake_big_login", c -> {
            // AuthenticationOk, then a ParameterStatus header announcing 2 MiB: refused before its body
            c.send(FakePg.auth(0, new byte[0]), RawPg.header('S', 2 << 20));
            c.awaitClose();
        });
        s.put("fake_login_error", c -> {
            c.send(FakePg.error("S", "FATAL", "M", "no sqlstate here"));
            c.awaitClose();
        });
        s.put("fake_empty_error", c -> {
            c.send(FakePg.error());
            c.awaitClose();
        });
        s.put("fake_query", c -> {
            c.send(FakePg.welcome());
            int queries = 0;
            while (true) {
                RawPg.Message m = c.read();
                if (m.tag() == 'X') {
                    return;
                }
                switch (++queries) {
                    case 1 -> c.send(FakePg.error("S", "ERROR", "M", "no sqlstate in this error"), FakePg.readyForQuery());
                    case 2 -> c.send(FakePg.error(), FakePg.readyForQuery()); // no field at all
                    default -> c.send(RawPg.message('C', RawPg.cstring("SELECT 0")), FakePg.readyForQuery());
                }
            }
        });
        s.put("fake_huge_row", c -> {
            c.send(FakePg.welcome());
            c.read();
            c.send(RawPg.header('D', Integer.MAX_VALUE));
            c.awaitClose();
        });
        return s;
    }

    /** AuthenticationSASL, the SASLInitialResponse, then the server-first-message built from the client nonce. */
    private static void serverFirst(FakePg.Conn c, java.util.function.Function<String, String> serverFirst) throws IOException {
        c.send(FakePg.authSasl());
        RawPg.Message initial = c.read();
        String body = new String(initial.body(), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("r=([^,\\x00]+)").matcher(body);
        if (initial.tag() != 'p' || !m.find()) {
            throw new IOException("expected SASLInitialResponse, got " + initial);
        }
        c.send(FakePg.authSaslContinue(serverFirst.apply(m.group(1))));
    }
}
