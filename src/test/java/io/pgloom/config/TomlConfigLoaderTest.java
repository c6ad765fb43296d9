package io.pgloom.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TOML form of the configuration: tables, databases, users, peers and every kind of refusal. */
class TomlConfigLoaderTest {
    @TempDir
    Path dir;

    private ConfigFixture files() {
        return new ConfigFixture(dir);
    }

    private String file() {
        return files().file("pgloom.toml");
    }

    @Test
    void readsGeneralSettingsOfEveryKind() throws Exception {
        Config c = files().toml("""
                [pgloom]
                listen_addr = "127.0.0.1, ::1"
                listen_port = 6433
                pool_mode = "transaction"
                server_idle_timeout = "5min"
                query_wait_timeout = 0.5
                server_lifetime = 600
                so_reuseport = true
                log_stats = 0
                admin_users = ["postgres", "admin"]
                unix_socket_mode = "0700"
                auth_type = "scram-sha-256"
                """);
        assertThat(c.get(General.LISTEN_ADDR)).containsExactly("127.0.0.1", "::1");
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(6433);
        assertThat(c.get(General.POOL_MODE)).isEqualTo(PoolMode.TRANSACTION);
        assertThat(c.get(General.SERVER_IDLE_TIMEOUT)).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.get(General.QUERY_WAIT_TIMEOUT)).isEqualTo(Duration.ofMillis(500));
        assertThat(c.get(General.SERVER_LIFETIME)).isEqualTo(Duration.ofSeconds(600));
        assertThat(c.get(General.SO_REUSEPORT)).isTrue();
        assertThat(c.get(General.LOG_STATS)).isFalse();
        assertThat(c.get(General.ADMIN_USERS)).containsExactly("postgres", "admin");
        assertThat(c.get(General.UNIX_SOCKET_MODE)).isEqualTo(0700);
        assertThat(c.get(General.AUTH_TYPE)).isEqualTo(AuthType.SCRAM_SHA_256);
        assertThat(c.get(General.DEFAULT_POOL_SIZE)).as("untouched keys keep their default").isEqualTo(20);
        assertThat(c.file()).isEqualTo(dir.resolve("pgloom.toml"));
    }

    @Test
    void pgbouncerIsAcceptedAsTheNameOfTheMainTable() throws Exception {
        Config c = files().toml("[pgbouncer]\nlisten_port = 7000\n");
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(7000);
    }

    @Test
    void anEmptyFileIsAllDefaults() throws Exception {
        Config c = files().toml("");
        assertThat(c.general()).isEqualTo(General.SECTION.defaults());
        assertThat(c.databases()).isEmpty();
        assertThat(c.users()).isEmpty();
        assertThat(c.peers()).isEmpty();
    }

    @Test
    void databasesAsTables() throws Exception {
        Config c = files().toml("""
                [databases.app]
                host = "db1"
                port = 5433
                dbname = "app_prod"
                user = "app"
                password = "secret"
                pool_size = 10
                reserve_pool = 2
                pool_mode = "statement"
                server_lifetime = "1h"
                connect_query = "SET a=1; SET b=2"

                [databases.other]
                """);
        assertThat(c.databases()).containsOnlyKeys("app", "other");
        Values app = c.databases().get("app");
        assertThat(app.get(DatabaseKeys.HOST)).isEqualTo("db1");
        assertThat(app.get(DatabaseKeys.PORT)).isEqualTo(5433);
        assertThat(app.get(DatabaseKeys.DBNAME)).isEqualTo("app_prod");
        assertThat(app.get(DatabaseKeys.USER)).isEqualTo("app");
        assertThat(app.get(DatabaseKeys.PASSWORD)).isEqualTo("secret");
        assertThat(app.get(DatabaseKeys.POOL_SIZE)).isEqualTo(10);
        assertThat(app.get(DatabaseKeys.RESERVE_POOL_SIZE)).as("reserve_pool is an alias").isEqualTo(2);
        assertThat(app.get(DatabaseKeys.POOL_MODE)).isEqualTo(PoolMode.STATEMENT);
        assertThat(app.get(DatabaseKeys.SERVER_LIFETIME)).isEqualTo(Duration.ofHours(1));
        assertThat(app.get(DatabaseKeys.CONNECT_QUERY)).isEqualTo("SET a=1; SET b=2");
        Values other = c.databases().get("other");
        assertThat(other.get(DatabaseKeys.HOST)).as("unset means inherit").isNull();
        assertThat(other.get(DatabaseKeys.POOL_SIZE)).isNull();
        assertThat(other.get(DatabaseKeys.PORT)).isEqualTo(5432);
    }

    @Test
    void databasesAsConnectionStrings() throws Exception {
        Config c = files().toml("""
                [databases]
                app = "host=x port=5433 dbname=y connect_query='SET a=1; SET b=2'"
                quoted = "host=h application_name='it''s' timezone='Europe/Paris'"
                "with space" = "dbname=z"
                """);
        Values app = c.databases().get("app");
        assertThat(app.get(DatabaseKeys.HOST)).isEqualTo("x");
        assertThat(app.get(DatabaseKeys.PORT)).isEqualTo(5433);
        assertThat(app.get(DatabaseKeys.DBNAME)).isEqualTo("y");
        assertThat(app.get(DatabaseKeys.CONNECT_QUERY)).isEqualTo("SET a=1; SET b=2");
        assertThat(app.isSet(DatabaseKeys.PORT)).isTrue();
        assertThat(app.isSet(DatabaseKeys.USER)).isFalse();
        Values quoted = c.databases().get("quoted");
        assertThat(quoted.get(DatabaseKeys.APPLICATION_NAME)).isEqualTo("it's");
        assertThat(quoted.get(DatabaseKeys.TIMEZONE)).isEqualTo("Europe/Paris");
        assertThat(c.databases().get("with space").get(DatabaseKeys.DBNAME)).isEqualTo("z");
        assertThat(c.databases().keySet()).containsExactly("app", "quoted", "with space");
    }

    @Test
    void databasesKeepFileOrder() throws Exception {
        Config c = files().toml("[databases]\nzeta = \"\"\nalpha = \"\"\nmid = \"\"\n");
        assertThat(c.databases().keySet()).containsExactly("zeta", "alpha", "mid");
    }

    @Test
    void badConnectionStringNamesTheDatabase() {
        List<String> problems = files().tomlProblems("[databases]\napp = \"host=x connect_query='unterminated\"\n");
        assertThat(problems).containsExactly(file() + ": [databases.app]: unterminated quoted value");
        problems = files().tomlProblems("[databases]\napp = \"host\"\n");
        assertThat(problems).singleElement().asString().startsWith(file() + ": [databases.app]: expected key=value");
    }

    @Test
    void badDatabaseValueNamesFileTableAndKey() {
        assertThat(files().tomlProblems("[databases.app]\nport = 0\n"))
                .containsExactly(file() + ": [databases.app] port: must be an integer from 1 to 65535, got 0");
        assertThat(files().tomlProblems("[databases]\napp = \"port=x\"\n"))
                .containsExactly(file() + ": [databases.app] port: must be an integer from 1 to 65535, got \"x\"");
        assertThat(files().tomlProblems("[databases.app]\npool_mode = \"fast\"\n")).singleElement().asString()
                .startsWith(file() + ": [databases.app] pool_mode: must be one of session, transaction, statement");
    }

    @Test
    void unknownDatabaseKeySuggestsTheNearestOne() {
        assertThat(files().tomlProblems("[databases.app]\nhots = \"x\"\n"))
                .containsExactly(file() + ": [databases.app] hots: unknown key (did you mean host?)");
    }

    @Test
    void usersAndPeers() throws Exception {
        Config c = files().toml("""
                [users.alice]
                pool_mode = "session"
                pool_size = 3
                max_user_connections = 7
                query_timeout = "30s"
                password = "SCRAM-SHA-256$4096:c2FsdA==$a:b"

                [peers.1]
                host = "10.0.0.1"
                port = 6433
                pool_size = 4

                [peers.2]
                host = "/tmp"
                """);
        Values alice = c.users().get("alice");
        assertThat(alice.get(UserKeys.POOL_MODE)).isEqualTo(PoolMode.SESSION);
        assertThat(alice.get(UserKeys.POOL_SIZE)).isEqualTo(3);
        assertThat(alice.get(UserKeys.MAX_USER_CONNECTIONS)).isEqualTo(7);
        assertThat(alice.get(UserKeys.QUERY_TIMEOUT)).isEqualTo(Duration.ofSeconds(30));
        assertThat(alice.get(UserKeys.PASSWORD)).startsWith("SCRAM-SHA-256$");
        assertThat(alice.get(UserKeys.TRANSACTION_TIMEOUT)).isNull();
        assertThat(c.peers()).containsOnlyKeys(1, 2);
        assertThat(c.peers().get(1).get(PeerKeys.HOST)).isEqualTo("10.0.0.1");
        assertThat(c.peers().get(1).get(PeerKeys.PORT)).isEqualTo(6433);
        assertThat(c.peers().get(1).get(PeerKeys.POOL_SIZE)).isEqualTo(4);
        assertThat(c.peers().get(2).get(PeerKeys.PORT)).isEqualTo(6432);
        assertThat(c.peers().get(2).get(PeerKeys.POOL_SIZE)).isNull();
    }

    @Test
    void peerAsConnectionString() throws Exception {
        Config c = files().toml("[peers]\n7 = \"host=peer7 port=7777\"\n");
        assertThat(c.peers().get(7).get(PeerKeys.HOST)).isEqualTo("peer7");
        assertThat(c.peers().get(7).get(PeerKeys.PORT)).isEqualTo(7777);
    }

    @Test
    void badPeers() {
        assertThat(files().tomlProblems("[peers.1]\nport = 6433\n"))
                .containsExactly(file() + ": [peers.1] host: is required");
        assertThat(files().tomlProblems("[peers.x]\nhost = \"h\"\n"))
                .containsExactly(file() + ": [peers.x]: a peer id must be an integer from 1 to 65535");
        assertThat(files().tomlProblems("[peers.0]\nhost = \"h\"\n"))
                .containsExactly(file() + ": [peers.0]: a peer id must be an integer from 1 to 65535");
        assertThat(files().tomlProblems("[peers.65536]\nhost = \"h\"\n"))
                .containsExactly(file() + ": [peers.65536]: a peer id must be an integer from 1 to 65535");
        assertThat(files().tomlProblems("[peers.1]\nhost = \"h\"\nweight = 3\n"))
                .containsExactly(file() + ": [peers.1] weight: unknown key");
    }

    @Test
    void unknownUserKeySuggestsTheNearestOne() {
        assertThat(files().tomlProblems("[users.bob]\npool_sise = 3\n"))
                .containsExactly(file() + ": [users.bob] pool_sise: unknown key (did you mean pool_size?)");
    }

    @Test
    void unknownGeneralKeySuggestsTheNearestOne() {
        assertThat(files().tomlProblems("[pgloom]\ndefault_pool_sise = 5\n"))
                .containsExactly(file() + ": [pgloom] default_pool_sise: unknown key (did you mean default_pool_size?)");
        assertThat(files().tomlProblems("[pgloom]\nlisten_prot = 5\n"))
                .containsExactly(file() + ": [pgloom] listen_prot: unknown key (did you mean listen_port?)");
    }

    @Test
    void unknownKeyFarFromEveryKeyHasNoSuggestion() {
        assertThat(files().tomlProblems("[pgloom]\nzzzzzzzzzzzzzzzzzzzz = 5\n"))
                .containsExactly(file() + ": [pgloom] zzzzzzzzzzzzzzzzzzzz: unknown key");
    }

    @Test
    void unknownTableIsRefused() {
        assertThat(files().tomlProblems("[pgloom]\n[database.app]\nhost = \"x\"\n"))
                .containsExactly(file() + ": [database]: unknown table (expected pgloom, databases, users or peers)");
    }

    @Test
    void pgloomAndPgbouncerTogetherAreRefused() {
        List<String> problems = files().tomlProblems("""
                [pgloom]
                listen_port = 6433
                [pgbouncer]
                listen_port = 6434
                """);
        assertThat(problems).containsExactly(file() + ": give either [pgloom] or [pgbouncer], not both");
    }

    /** Both tables present is a mistake even when the first one holds no key yet. */
    @Test
    void pgloomAndPgbouncerTogetherAreRefusedEvenWhenTheFirstIsEmpty() {
        List<String> problems = files().tomlProblems("""
                [pgloom]
                [pgbouncer]
                listen_port = 6434
                """);
        assertThat(problems).containsExactly(file() + ": give either [pgloom] or [pgbouncer], not both");
    }

    @Test
    void theNamePgbouncerIsReservedForTheAdminConsole() {
        assertThat(files().tomlProblems("[databases.pgbouncer]\nhost = \"x\"\n"))
                .containsExactly(file() + ": [databases.pgbouncer]: the name pgbouncer is reserved for the admin console");
        assertThat(files().tomlProblems("[databases]\npgbouncer = \"host=x\"\n"))
                .containsExactly(file() + ": [databases.pgbouncer]: the name pgbouncer is reserved for the admin console");
    }

    @Test
    void databaseNamesLongerThan63BytesAreRefused() throws Exception {
        String ok = "d".repeat(63);
        assertThat(files().toml("[databases]\n" + ok + " = \"\"\n").databases()).containsOnlyKeys(ok);
        String tooLong = "d".repeat(64);
        assertThat(files().tomlProblems("[databases]\n" + tooLong + " = \"\"\n"))
                .containsExactly(file() + ": [databases." + tooLong + "]: a database name must be 1 to 63 bytes without NUL");
    }

    @Test
    void authTypeAnyNeedsAForcedUserOnEveryDatabase() throws Exception {
        List<String> problems = files().tomlProblems("""
                [pgloom]
                auth_type = "any"
                [databases]
                forced = "host=x user=app"
                free = "host=x"
                """);
        assertThat(problems).containsExactly(
                file() + ": [databases.free] user: auth_type = \"any\" requires a forced user on every database");
        Config ok = files().toml("[pgloom]\nauth_type = \"any\"\n[databases]\nforced = \"host=x user=app\"\n");
        assertThat(ok.get(General.AUTH_TYPE)).isEqualTo(AuthType.ANY);
    }

    @Test
    void somethingToListenOnIsRequired() {
        assertThat(files().tomlProblems("[pgloom]\nunix_socket_dir = \"\"\n")).containsExactly(file()
                + ": [pgloom] listen_addr: nothing to listen on (listen_addr and unix_socket_dir are both empty)");
    }

    @Test
    void invalidTomlReportsTheLine() {
        List<String> problems = files().tomlProblems("""
                [pgloom]
                listen_port = 6432
                pool_mode = "transaction
                """);
        assertThat(problems).singleElement().asString().startsWith(file() + ": line 3: not valid TOML: ");
        problems = files().tomlProblems("[pgloom]\n\n\nlisten_port = = 1\n");
        assertThat(problems).singleElement().asString().startsWith(file() + ": line 4: not valid TOML: ");
    }

    @Test
    void duplicateKeysAreInvalidToml() {
        List<String> problems = files().tomlProblems("[pgloom]\nlisten_port = 1\nlisten_port = 2\n");
        // Jackson reports the position after the duplicate's line
        assertThat(problems).singleElement().asString().matches(java.util.regex.Pattern.quote(file())
                + ": line [34]: not valid TOML: Duplicate key.*");
    }

    @Test
    void everyProblemIsReportedNotOnlyTheFirst() {
        List<String> problems = files().tomlProblems("""
                [pgloom]
                listen_port = 0
                pool_mode = "fast"
                nonsense = 1
                [databases.app]
                port = "x"
                [users.u]
                pool_size = -1
                """);
        assertThat(problems).hasSize(5);
        assertThat(problems).allSatisfy(p -> assertThat(p).startsWith(file() + ": ["));
        assertThat(String.join("\n", problems)).contains("[pgloom] listen_port:", "[pgloom] pool_mode:",
                "[pgloom] nonsense: unknown key", "[databases.app] port:", "[users.u] pool_size:");
    }

    @Test
    void aMainTableThatIsNotATableIsRefused() {
        assertThat(files().tomlProblems("pgloom = 5\n")).containsExactly(file() + ": [pgloom]: must be a table");
        assertThat(files().tomlProblems("databases = 5\n")).containsExactly(file() + ": databases: must be a table");
        assertThat(files().tomlProblems("[users]\nbob = \"pool_size=3\"\n"))
                .containsExactly(file() + ": [users.bob]: must be a table");
    }

    @Test
    void missingFileIsOneLine() {
        Path missing = dir.resolve("nope.toml");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Config.load(missing))
                .isInstanceOf(ConfigException.class)
                .hasMessage(missing + ": cannot read: no such file");
    }

    @Test
    void fileFormatIsChosenByExtensionThenByContent() throws Exception {
        assertThat(ConfigFiles.isIni(Path.of("x.ini"), "")).isTrue();
        assertThat(ConfigFiles.isIni(Path.of("x.toml"), "[pgbouncer]\npool_mode = session\n")).isFalse();
        assertThat(ConfigFiles.isIni(Path.of("x.conf"), "[pgbouncer]\npool_mode = session\n")).isTrue();
        assertThat(ConfigFiles.isIni(Path.of("x.conf"), "[pgbouncer]\npool_mode = \"session\"\n")).isFalse();
        assertThat(ConfigFiles.isIni(Path.of("x.conf"), "[pgloom]\npool_mode = session\n")).isFalse();
        Config c = files().load("pgbouncer.conf", "[databases]\napp = host=db\n[pgbouncer]\npool_mode = transaction\n");
        assertThat(c.get(General.POOL_MODE)).isEqualTo(PoolMode.TRANSACTION);
        assertThat(c.databases().get("app").get(DatabaseKeys.HOST)).isEqualTo("db");
    }

    /**
     * A pgbouncer.ini under another name whose values all happen to start with a digit, t or f
     * (or that holds a %include line) is still a pgbouncer.ini: it is not valid TOML.
     */
    @Test
    void iniUnderAnotherNameIsDetectedWhateverItsValuesStartWith() throws Exception {
        Config c = files().load("pgbouncer.conf", "[pgbouncer]\nlisten_port = 7001\npool_mode = transaction\n");
        assertThat(c.get(General.POOL_MODE)).isEqualTo(PoolMode.TRANSACTION);
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(7001);
        files().write("databases.ini", "[databases]\napp = host=db\n");
        Config included = files().load("main.conf", "[pgbouncer]\n%include databases.ini\nlisten_port = 7002\n");
        assertThat(included.databases()).containsOnlyKeys("app");
    }
}
