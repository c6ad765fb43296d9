package io.pgloom.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An unchanged pgbouncer.ini: sections, comments, %include, quoting, [users] and [peers]. */
class IniConfigLoaderTest {
    @TempDir
    Path dir;

    private ConfigFixture files() {
        return new ConfigFixture(dir);
    }

    private String file() {
        return files().file("pgbouncer.ini");
    }

    @Test
    void readsATypicalPgbouncerIni() throws Exception {
        Config c = files().ini("""
                ;; PgBouncer configuration
                # hash comments too

                [databases]
                app = host=127.0.0.1 port=5433 dbname=app_prod
                reporting = host=db2 pool_size=5 reserve_pool=1 pool_mode=session
                * = host=fallback

                [pgbouncer]
                listen_addr = *
                listen_port = 6433
                auth_type = md5
                auth_file = /etc/pgbouncer/userlist.txt
                pool_mode = transaction
                server_idle_timeout = 0.5
                so_reuseport = 1
                log_stats = 0
                admin_users = postgres, admin
                ignore_startup_parameters = extra_float_digits,options
                   default_pool_size   =   30
                """);
        assertThat(c.get(General.LISTEN_ADDR)).containsExactly("*");
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(6433);
        assertThat(c.get(General.AUTH_TYPE)).isEqualTo(AuthType.MD5);
        assertThat(c.get(General.AUTH_FILE)).isEqualTo("/etc/pgbouncer/userlist.txt");
        assertThat(c.get(General.POOL_MODE)).isEqualTo(PoolMode.TRANSACTION);
        assertThat(c.get(General.SERVER_IDLE_TIMEOUT)).isEqualTo(Duration.ofMillis(500));
        assertThat(c.get(General.SO_REUSEPORT)).isTrue();
        assertThat(c.get(General.LOG_STATS)).isFalse();
        assertThat(c.get(General.ADMIN_USERS)).containsExactly("postgres", "admin");
        assertThat(c.get(General.IGNORE_STARTUP_PARAMETERS)).containsExactly("extra_float_digits", "options");
        assertThat(c.get(General.DEFAULT_POOL_SIZE)).isEqualTo(30);
        assertThat(c.databases().keySet()).containsExactly("app", "reporting", "*");
        Values app = c.databases().get("app");
        assertThat(app.get(DatabaseKeys.HOST)).isEqualTo("127.0.0.1");
        assertThat(app.get(DatabaseKeys.PORT)).isEqualTo(5433);
        assertThat(app.get(DatabaseKeys.DBNAME)).isEqualTo("app_prod");
        Values reporting = c.databases().get("reporting");
        assertThat(reporting.get(DatabaseKeys.POOL_SIZE)).isEqualTo(5);
        assertThat(reporting.get(DatabaseKeys.RESERVE_POOL_SIZE)).isEqualTo(1);
        assertThat(reporting.get(DatabaseKeys.POOL_MODE)).isEqualTo(PoolMode.SESSION);
    }

    @Test
    void connectQueryMaySpanSemicolonsInQuotes() throws Exception {
        Config c = files().ini("""
                [pgbouncer]
                [databases]
                app = host=x connect_query='SET a=1; SET b=2' application_name='it''s'
                """);
        Values app = c.databases().get("app");
        assertThat(app.get(DatabaseKeys.CONNECT_QUERY)).isEqualTo("SET a=1; SET b=2");
        assertThat(app.get(DatabaseKeys.APPLICATION_NAME)).isEqualTo("it's");
    }

    @Test
    void quotedValuesLoseTheirQuotes() throws Exception {
        Config c = files().ini("""
                [pgbouncer]
                logfile = "/var/log/pg bouncer.log"
                pidfile = '/run/pgbouncer.pid'
                auth_query = "SELECT usename, passwd FROM pg_shadow WHERE usename=$1"
                server_reset_query = "half'quoted"
                job_name = "say ""hi""\"
                unix_socket_dir = "unbalanced
                """);
        assertThat(c.get(General.LOGFILE)).isEqualTo("/var/log/pg bouncer.log");
        assertThat(c.get(General.PIDFILE)).isEqualTo("/run/pgbouncer.pid");
        assertThat(c.get(General.AUTH_QUERY)).isEqualTo("SELECT usename, passwd FROM pg_shadow WHERE usename=$1");
        assertThat(c.get(General.SERVER_RESET_QUERY)).isEqualTo("half'quoted");
        assertThat(c.get(General.JOB_NAME)).isEqualTo("say \"hi\"");
        assertThat(c.get(General.UNIX_SOCKET_DIR)).isEqualTo("\"unbalanced");
    }

    @Test
    void doubleQuotedDatabaseNames() throws Exception {
        Config c = files().ini("""
                [pgbouncer]
                [databases]
                "my db" = host=x
                "a""b" = host=y
                "eq=in name" = dbname=z
                plain_Name_0 = host=w
                """);
        assertThat(c.databases().keySet()).containsExactly("my db", "a\"b", "eq=in name", "plain_Name_0");
        assertThat(c.databases().get("eq=in name").get(DatabaseKeys.DBNAME)).isEqualTo("z");
        assertThat(c.databases().get("a\"b").get(DatabaseKeys.HOST)).isEqualTo("y");
    }

    @Test
    void emptyDatabaseEntryInheritsEverything() throws Exception {
        Config c = files().ini("[pgbouncer]\n[databases]\napp =\n");
        assertThat(c.databases().get("app").get(DatabaseKeys.HOST)).isNull();
    }

    @Test
    void usersSection() throws Exception {
        Config c = files().ini("""
                [pgbouncer]
                [users]
                alice = pool_mode=session pool_size=3 max_user_connections=9
                bob = query_timeout=30 client_idle_timeout=5min
                """);
        Values alice = c.users().get("alice");
        assertThat(alice.get(UserKeys.POOL_MODE)).isEqualTo(PoolMode.SESSION);
        assertThat(alice.get(UserKeys.POOL_SIZE)).isEqualTo(3);
        assertThat(alice.get(UserKeys.MAX_USER_CONNECTIONS)).isEqualTo(9);
        Values bob = c.users().get("bob");
        assertThat(bob.get(UserKeys.QUERY_TIMEOUT)).isEqualTo(Duration.ofSeconds(30));
        assertThat(bob.get(UserKeys.CLIENT_IDLE_TIMEOUT)).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void unknownUserKeyIsRefused() {
        assertThat(files().iniProblems("[pgbouncer]\n[users]\nalice = pool_sise=3\n"))
                .containsExactly(file() + ": [users.alice] pool_sise: unknown key (did you mean pool_size?)");
    }

    @Test
    void peersSection() throws Exception {
        Config c = files().ini("""
                [pgbouncer]
                peer_id = 1
                [peers]
                1 = host=/tmp/pgbouncer1
                2 = host=10.0.0.2 port=6433 pool_size=4
                """);
        assertThat(c.get(General.PEER_ID)).isEqualTo(1);
        assertThat(c.peers()).containsOnlyKeys(1, 2);
        assertThat(c.peers().get(1).get(PeerKeys.HOST)).isEqualTo("/tmp/pgbouncer1");
        assertThat(c.peers().get(2).get(PeerKeys.PORT)).isEqualTo(6433);
        assertThat(c.peers().get(2).get(PeerKeys.POOL_SIZE)).isEqualTo(4);
    }

    @Test
    void peerWithoutHostIsRefused() {
        assertThat(files().iniProblems("[pgbouncer]\n[peers]\n3 = port=6433\n"))
                .containsExactly(file() + ": [peers.3] host: is required");
    }

    @Test
    void missingPgbouncerSectionIsRefused() {
        assertThat(files().iniProblems("[databases]\napp = host=x\n"))
                .containsExactly(file() + ": main section missing from config file ([pgbouncer])");
        assertThat(files().iniProblems("")).containsExactly(file() + ": main section missing from config file ([pgbouncer])");
    }

    @Test
    void unknownSectionIsRefusedWithItsLine() {
        assertThat(files().iniProblems("[pgbouncer]\n\n[database]\napp = host=x\n"))
                .containsExactly(file() + ":3: unknown section [database]");
    }

    @Test
    void keyOutsideOfAnySectionIsRefused() {
        assertThat(files().iniProblems("listen_port = 1\n[pgbouncer]\n"))
                .containsExactly(file() + ":1: listen_port is outside of any section");
    }

    @Test
    void lineWithoutEqualsIsRefused() {
        assertThat(files().iniProblems("[pgbouncer]\nlisten_port 6432\n"))
                .containsExactly(file() + ":2: expected key = value");
    }

    @Test
    void badSectionHeaderIsRefused() {
        assertThat(files().iniProblems("[pgbouncer\n")).singleElement().asString()
                .startsWith(file() + ":1: bad section header");
    }

    @Test
    void badValuesNameFileAndKey() {
        List<String> problems = files().iniProblems("""
                [pgbouncer]
                listen_port = 70000
                so_reuseport = maybe
                server_lifetime = forever
                """);
        assertThat(problems).hasSize(3);
        assertThat(problems.get(0)).startsWith(file() + ": [").contains("listen_port: must be an integer from 1 to 65535, got 70000");
        assertThat(problems.get(1)).startsWith(file() + ": [").contains("so_reuseport: must be a boolean");
        assertThat(problems.get(2)).startsWith(file() + ": [").contains("server_lifetime: must be a number of seconds");
    }

    @Test
    void unknownGeneralKeySuggestsTheNearestOne() {
        assertThat(files().iniProblems("[pgbouncer]\nmax_client_con = 10\n")).singleElement().asString()
                .startsWith(file() + ": [").endsWith(" max_client_con: unknown key (did you mean max_client_conn?)");
    }

    @Test
    void badDatabaseEntriesNameTheLine() {
        assertThat(files().iniProblems("[pgbouncer]\n[databases]\napp = host=x connect_query='open\n"))
                .containsExactly(file() + ":3: [databases] app: unterminated quoted value");
        assertThat(files().iniProblems("[pgbouncer]\n[databases]\napp = port=x\n"))
                .containsExactly(file() + ": [databases.app] port: must be an integer from 1 to 65535, got \"x\"");
        assertThat(files().iniProblems("[pgbouncer]\n[databases]\napp = hots=x\n"))
                .containsExactly(file() + ": [databases.app] hots: unknown key (did you mean host?)");
    }

    @Test
    void theNamePgbouncerIsReserved() {
        assertThat(files().iniProblems("[pgbouncer]\n[databases]\npgbouncer = host=x\n"))
                .containsExactly(file() + ": [databases.pgbouncer]: the name pgbouncer is reserved for the admin console");
    }

    @Test
    void authTypeAnyNeedsAForcedUser() {
        assertThat(files().iniProblems("[pgbouncer]\nauth_type = any\n[databases]\napp = host=x\n")).containsExactly(
                file() + ": [databases.app] user: auth_type = \"any\" requires a forced user on every database");
    }

    @Test
    void includeRelativeToTheIncludingFile() throws Exception {
        files().write("conf.d/databases.ini", "[databases]\napp = host=included\n");
        Config c = files().ini("[pgbouncer]\nlisten_port = 7000\n%include conf.d/databases.ini\n");
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(7000);
        assertThat(c.databases().get("app").get(DatabaseKeys.HOST)).isEqualTo("included");
    }

    @Test
    void includeAbsolute() throws Exception {
        Path other = files().write("elsewhere/general.ini", "[pgbouncer]\ndefault_pool_size = 42\n");
        Config c = files().ini("%include " + other.toAbsolutePath() + "\n[databases]\napp = host=x\n");
        assertThat(c.get(General.DEFAULT_POOL_SIZE)).isEqualTo(42);
        assertThat(c.databases()).containsOnlyKeys("app");
    }

    @Test
    void includedFileMayBeIncludedFromAnIncludedFile() throws Exception {
        files().write("a/one.ini", "%include two.ini\n");
        files().write("a/two.ini", "[pgbouncer]\nmax_client_conn = 500\n");
        Config c = files().ini("%include a/one.ini\n");
        assertThat(c.get(General.MAX_CLIENT_CONN)).isEqualTo(500);
    }

    @Test
    void laterValuesOverrideEarlierOnes() throws Exception {
        files().write("base.ini", "[pgbouncer]\ndefault_pool_size = 5\nlisten_port = 7000\n");
        Config c = files().ini("%include base.ini\n[pgbouncer]\ndefault_pool_size = 6\n");
        assertThat(c.get(General.DEFAULT_POOL_SIZE)).isEqualTo(6);
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(7000);
    }

    @Test
    void includeNestingIsLimited() {
        files().write("loop.ini", "%include loop.ini\n");
        List<String> problems = files().iniProblems("[pgbouncer]\n%include loop.ini\n");
        assertThat(problems).singleElement().asString()
                .startsWith(files().file("loop.ini") + ":1: ")
                .endsWith("%include nested too deeply");
    }

    @Test
    void missingIncludeIsRefusedWithItsLine() {
        List<String> problems = files().iniProblems("[pgbouncer]\n\n%include nowhere.ini\n");
        assertThat(problems).singleElement().asString()
                .startsWith(file() + ":3: cannot read included file nowhere.ini");
    }

    @Test
    void windowsLineEndingsAreAccepted() throws Exception {
        Config c = files().ini("[pgbouncer]\r\nlisten_port = 7002\r\n[databases]\r\napp = host=x\r\n");
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(7002);
        assertThat(c.databases().get("app").get(DatabaseKeys.HOST)).isEqualTo("x");
    }
}
