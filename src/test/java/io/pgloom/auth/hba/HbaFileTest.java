package io.pgloom.auth.hba;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HbaFileTest {
    @TempDir
    Path dir;

    private static HbaFile parse(String text) throws HbaException {
        return HbaFile.parse(text, "pg_hba.conf");
    }

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private static ConnectionInfo tcp(String address, String db, String user) {
        return ConnectionInfo.tcp(ip(address), false, db, user);
    }

    private static ConnectionInfo tls(String address, String db, String user) {
        return ConnectionInfo.tcp(ip(address), true, db, user);
    }

    private static HbaMethod method(HbaFile hba, ConnectionInfo c) {
        return hba.match(c).method();
    }

    private static void fails(String text, String message) {
        assertThatThrownBy(() -> parse(text)).isInstanceOf(HbaException.class).hasMessage(message);
    }

    // ------------------------------------------------------------------ connection types

    @Test
    void connectionTypesSelectUnixTcpTlsAndPlain() throws Exception {
        HbaFile hba = parse("""
                local     all all peer
                hostssl   all all 0.0.0.0/0 scram-sha-256
                hostnossl all all 0.0.0.0/0 md5
                host      all all ::/0 password
                """);
        assertThat(method(hba, ConnectionInfo.unix("db", "u"))).isEqualTo(HbaMethod.PEER);
        assertThat(method(hba, tls("10.1.2.3", "db", "u"))).isEqualTo(HbaMethod.SCRAM_SHA_256);
        assertThat(method(hba, tcp("10.1.2.3", "db", "u"))).isEqualTo(HbaMethod.MD5);
        assertThat(method(hba, tcp("::1", "db", "u"))).isEqualTo(HbaMethod.PASSWORD);
        assertThat(method(hba, tls("::1", "db", "u"))).isEqualTo(HbaMethod.PASSWORD);
        assertThat(hba.rules()).extracting(HbaRule::type).containsExactly(HbaRule.Type.LOCAL, HbaRule.Type.HOSTSSL,
                HbaRule.Type.HOSTNOSSL, HbaRule.Type.HOST);
    }

    @Test
    void everyMethodParses() throws Exception {
        HbaFile hba = parse("""
                local all a trust
                local all b reject
                local all c md5
                local all d password
                local all e scram-sha-256
                local all f peer
                hostssl all g all cert
                """);
        assertThat(hba.rules()).extracting(HbaRule::method).containsExactly(HbaMethod.TRUST, HbaMethod.REJECT, HbaMethod.MD5,
                HbaMethod.PASSWORD, HbaMethod.SCRAM_SHA_256, HbaMethod.PEER, HbaMethod.CERT);
        assertThat(method(hba, tls("192.0.2.1", "x", "g"))).isEqualTo(HbaMethod.CERT);
    }

    // ------------------------------------------------------------------ precedence

    @Test
    void theFirstMatchingRuleWins() throws Exception {
        HbaFile hba = parse("""
                host app   alice 10.0.0.0/8 reject
                host app   all   10.1.0.0/16 trust
                host all   all   10.0.0.0/8  md5
                host all   all   all         scram-sha-256
                """);
        assertThat(method(hba, tcp("10.1.2.3", "app", "alice"))).isEqualTo(HbaMethod.REJECT);
        assertThat(method(hba, tcp("10.1.2.3", "app", "bob"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("10.2.2.3", "app", "bob"))).isEqualTo(HbaMethod.MD5);
        assertThat(method(hba, tcp("192.0.2.9", "app", "bob"))).isEqualTo(HbaMethod.SCRAM_SHA_256);
        HbaMatch m = hba.match(tcp("10.1.2.3", "app", "alice"));
        assertThat(m.matched()).isTrue();
        assertThat(m.rule().line()).isEqualTo(1);
        assertThat(m.rule()).hasToString("pg_hba.conf line 1: \"host app   alice 10.0.0.0/8 reject\"");
    }

    @Test
    void noMatchingRuleRejects() throws Exception {
        HbaFile hba = parse("host app all 10.0.0.0/8 trust\n");
        HbaMatch m = hba.match(tcp("192.0.2.1", "app", "alice"));
        assertThat(m.matched()).isFalse();
        assertThat(m.method()).isEqualTo(HbaMethod.REJECT);
        assertThat(m.rule()).isNull();
        assertThat(method(parse(""), ConnectionInfo.unix("a", "b"))).isEqualTo(HbaMethod.REJECT);
        assertThat(tls("192.0.2.1", "app", "alice").describe())
                .isEqualTo("host \"192.0.2.1\", user \"alice\", database \"app\", SSL encryption");
        assertThat(ConnectionInfo.unix("app", "alice").describe()).isEqualTo("host \"[local]\", user \"alice\", database \"app\"");
    }

    // ------------------------------------------------------------------ databases and users

    @Test
    void databaseKeywordsAndLists() throws Exception {
        HbaFile hba = parse("""
                local sameuser     all   trust
                local app,reports  all   md5
                local "all"        all   password
                local replication  all   scram-sha-256
                local all          all   reject
                """);
        assertThat(method(hba, ConnectionInfo.unix("alice", "alice"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, ConnectionInfo.unix("reports", "alice"))).isEqualTo(HbaMethod.MD5);
        assertThat(method(hba, ConnectionInfo.unix("all", "alice"))).isEqualTo(HbaMethod.PASSWORD); // quoted: a name
        assertThat(method(hba, ConnectionInfo.unix("other", "alice"))).isEqualTo(HbaMethod.REJECT);
        // a replication connection matches only the replication keyword, not all or sameuser
        assertThat(method(hba, ConnectionInfo.unix("alice", "alice").asReplication())).isEqualTo(HbaMethod.SCRAM_SHA_256);
        assertThat(method(parse("local all all trust\n"), ConnectionInfo.unix("x", "y").asReplication()))
                .isEqualTo(HbaMethod.REJECT);
    }

    @Test
    void userListsAndQuotedNames() throws Exception {
        HbaFile hba = parse("""
                local all alice, bob   trust
                local all "Carol Ann","d,e",""\"q""\" md5
                local all all          reject
                """);
        assertThat(method(hba, ConnectionInfo.unix("db", "alice"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, ConnectionInfo.unix("db", "bob"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, ConnectionInfo.unix("db", "Carol Ann"))).isEqualTo(HbaMethod.MD5);
        assertThat(method(hba, ConnectionInfo.unix("db", "d,e"))).isEqualTo(HbaMethod.MD5);
        assertThat(method(hba, ConnectionInfo.unix("db", "\"q\""))).isEqualTo(HbaMethod.MD5);
        assertThat(method(hba, ConnectionInfo.unix("db", "Alice"))).isEqualTo(HbaMethod.REJECT); // names are case-sensitive
    }

    @Test
    void atFileListsNamesRelativeToTheHbaFile() throws Exception {
        Path sub = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(sub.resolve("admins"), "# admins\nalice, bob\n\"carol d\"  @more\n");
        Files.writeString(sub.resolve("more"), "erin\n");
        Files.writeString(sub.resolve("dbs"), "app reports\n");
        Path hbaPath = sub.resolve("pg_hba.conf");
        Files.writeString(hbaPath, "host @dbs @admins 0.0.0.0/0 trust\nhost all all 0.0.0.0/0 reject\n");
        HbaFile hba = HbaFile.load(hbaPath);
        for (String user : new String[] {"alice", "bob", "carol d", "erin"}) {
            assertThat(method(hba, tcp("10.0.0.1", "app", user))).as(user).isEqualTo(HbaMethod.TRUST);
        }
        assertThat(method(hba, tcp("10.0.0.1", "reports", "alice"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("10.0.0.1", "other", "alice"))).isEqualTo(HbaMethod.REJECT);
        assertThat(method(hba, tcp("10.0.0.1", "app", "mallory"))).isEqualTo(HbaMethod.REJECT);
        // a quoted @name is a name
        assertThat(method(parse("local all \"@admins\" trust\n"), ConnectionInfo.unix("d", "@admins"))).isEqualTo(HbaMethod.TRUST);
    }

    @Test
    void atFileErrorsNameTheFiles() throws Exception {
        Path hbaPath = dir.resolve("pg_hba.conf");
        assertThatThrownBy(() -> HbaFile.parse("local all @missing trust\n", hbaPath.toString()))
                .hasMessageStartingWith(hbaPath + ":1: could not read @missing (" + dir.resolve("missing") + "): ");
        Files.writeString(dir.resolve("bad"), "alice\n\"bob\n");
        assertThatThrownBy(() -> HbaFile.parse("\nlocal all @bad trust\n", hbaPath.toString()))
                .hasMessage(dir.resolve("bad") + ":2: unterminated quoted string");
        Files.writeString(dir.resolve("groups"), "+admins\n");
        assertThatThrownBy(() -> HbaFile.parse("local all @groups trust\n", hbaPath.toString()))
                .hasMessage(hbaPath + ":1: group names (+admins) are not supported: pgloom has no roles or groups");
        Files.writeString(dir.resolve("loop"), "@loop\n");
        assertThatThrownBy(() -> HbaFile.parse("local all @loop trust\n", hbaPath.toString()))
                .hasMessageContaining("maximum nesting depth exceeded");
    }

    // ------------------------------------------------------------------ addresses

    @Test
    void cidrAndMaskColumnsAndAll() throws Exception {
        HbaFile hba = parse("""
                host all a 192.168.0.0/16        trust
                host all b 172.16.0.0 255.240.0.0 trust
                host all c ::1/128               trust
                host all d fd00::/8              trust
                host all e 10.0.0.7/32           trust
                host all f all                   trust
                host all g 0.0.0.0/0             trust
                host all h 2001:db8:: ffff:ffff:: trust
                """);
        assertThat(method(hba, tcp("192.168.44.1", "x", "a"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("192.169.0.1", "x", "a"))).isEqualTo(HbaMethod.REJECT);
        assertThat(method(hba, tcp("172.31.255.255", "x", "b"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("172.32.0.0", "x", "b"))).isEqualTo(HbaMethod.REJECT);
        assertThat(method(hba, tcp("::1", "x", "c"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("127.0.0.1", "x", "c"))).isEqualTo(HbaMethod.REJECT); // IPv4 never matches an IPv6 rule
        assertThat(method(hba, tcp("fd12::5", "x", "d"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("10.0.0.7", "x", "e"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("10.0.0.8", "x", "e"))).isEqualTo(HbaMethod.REJECT);
        assertThat(method(hba, tcp("2001:db8::1", "x", "f"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("203.0.113.5", "x", "g"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("::1", "x", "g"))).isEqualTo(HbaMethod.REJECT);
        assertThat(method(hba, tcp("2001:db8:1::1", "x", "h"))).isEqualTo(HbaMethod.TRUST);
        assertThat(method(hba, tcp("2001:db9::1", "x", "h"))).isEqualTo(HbaMethod.REJECT);
        // local rules never match TCP, host rules never match unix sockets
        assertThat(method(parse("local all all trust\n"), tcp("127.0.0.1", "x", "y"))).isEqualTo(HbaMethod.REJECT);
        assertThat(method(hba, ConnectionInfo.unix("x", "f"))).isEqualTo(HbaMethod.REJECT);
    }

    @Test
    void ipv4MappedClientsMatchIpv4Rules() throws Exception {
        HbaFile hba = parse("host all all 10.0.0.0/8 trust\n");
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 1, 2, 3};
        InetAddress v6 = java.net.Inet6Address.getByAddress(null, mapped, -1);
        assertThat(method(hba, ConnectionInfo.tcp(v6, false, "d", "u"))).isEqualTo(HbaMethod.TRUST);
    }

    // ------------------------------------------------------------------ syntax

    @Test
    void commentsContinuationsAndBlankLines() throws Exception {
        HbaFile hba = parse("""
                # TYPE  DATABASE  USER  ADDRESS  METHOD

                host    all       alice,\\
                                  bob   10.0.0.0/8 \\
                        md5       # trailing comment
                \t
                host "db#1" all all trust
                """);
        assertThat(hba.rules()).hasSize(2);
        assertThat(hba.rules().get(0).line()).isEqualTo(3);
        assertThat(method(hba, tcp("10.0.0.1", "x", "bob"))).isEqualTo(HbaMethod.MD5);
        assertThat(hba.rules().get(1).line()).isEqualTo(7);
        assertThat(method(hba, tcp("10.0.0.1", "db#1", "z"))).isEqualTo(HbaMethod.TRUST);
    }

    @Test
    void crlfLineEndsAndAByteOrderMark() throws Exception {
        HbaFile hba = parse("\uFEFFlocal all all trust\r\nhost all all all md5\r\n");
        assertThat(hba.rules()).hasSize(2);
    }

    // ------------------------------------------------------------------ options

    @Test
    void mapAndCertificateOptions() throws Exception {
        HbaFile hba = parse("""
                local   all all peer map=local
                hostssl all all 10.0.0.0/8 cert map=certs clientname=DN
                hostssl all all all scram-sha-256 clientcert=verify-ca
                """);
        HbaMatch peer = hba.match(ConnectionInfo.unix("d", "u"));
        assertThat(peer.map()).contains("local");
        HbaMatch cert = hba.match(tls("10.2.3.4", "d", "u"));
        assertThat(cert.method()).isEqualTo(HbaMethod.CERT);
        assertThat(cert.options()).isEqualTo(Map.of("map", "certs", "clientname", "DN"));
        assertThat(hba.match(tls("192.0.2.1", "d", "u")).options()).isEqualTo(Map.of("clientcert", "verify-ca"));
        assertThat(hba.match(tls("192.0.2.1", "d", "u")).map()).isEmpty();
        assertThat(hba.mapNames()).containsExactly("local", "certs");
    }

    // ------------------------------------------------------------------ errors, each with file:line

    @Test
    void lineStructureErrors() {
        fails("\nlocall all all trust\n", "pg_hba.conf:2: invalid connection type \"locall\"");
        fails("hostgssenc all all all trust\n", "pg_hba.conf:1: connection type \"hostgssenc\" is not supported: pgloom has no"
                + " GSSAPI encryption");
        fails("local\n", "pg_hba.conf:1: end-of-line before database specification");
        fails("local all\n", "pg_hba.conf:1: end-of-line before role specification");
        fails("local all all\n", "pg_hba.conf:1: end-of-line before authentication method");
        fails("host all all\n", "pg_hba.conf:1: end-of-line before IP address");
        fails("host all all 10.0.0.0/8\n", "pg_hba.conf:1: end-of-line before authentication method");
        fails("local all all \"trust\n", "pg_hba.conf:1: unterminated quoted string");
        fails("local all all trust,md5\n", "pg_hba.conf:1: multiple values specified for authentication type");
        fails("host all all 10.0.0.1,10.0.0.2 trust\n", "pg_hba.conf:1: multiple values specified for IP address");
    }

    @Test
    void groupsAndSameHostAreRefused() {
        fails("local all +admins trust\n", "pg_hba.conf:1: group names (+admins) are not supported: pgloom has no roles or groups");
        fails("local samerole all trust\n", "pg_hba.conf:1: \"samerole\" is not supported: pgloom has no roles or groups");
        fails("local samegroup all trust\n", "pg_hba.conf:1: \"samegroup\" is not supported: pgloom has no roles or groups");
        fails("host all all samehost trust\n", "pg_hba.conf:1: \"samehost\" is not supported: write the addresses as CIDR");
        fails("host all all samenet trust\n", "pg_hba.conf:1: \"samenet\" is not supported: write the addresses as CIDR");
    }

    @Test
    void addressErrors() {
        fails("host all all db.example.com trust\n", "pg_hba.conf:1: invalid IP address \"db.example.com\" (host names are not"
                + " supported: write an address or CIDR)");
        fails("host all all 10.0.0.0/33 trust\n", "pg_hba.conf:1: invalid CIDR mask in address \"10.0.0.0/33\"");
        fails("host all all ::/129 trust\n", "pg_hba.conf:1: invalid CIDR mask in address \"::/129\"");
        fails("host all all 10.0.0.0/x trust\n", "pg_hba.conf:1: invalid CIDR mask in address \"10.0.0.0/x\"");
        fails("host all all 10.0.0.1\n", "pg_hba.conf:1: end-of-line before netmask specification (write 10.0.0.1/32 or add a"
                + " mask column)");
        fails("host all all 10.0.0.0 255.0.0.0\n", "pg_hba.conf:1: end-of-line before authentication method");
        fails("host all all 10.0.0.0 ffff:: trust\n", "pg_hba.conf:1: IP address and mask do not match (10.0.0.0 ffff::)");
        fails("host all all 10.0.0.0 trust md5\n", "pg_hba.conf:1: invalid IP mask \"trust\"");
    }

    @Test
    void methodErrors() {
        for (String m : new String[] {"ldap", "pam", "ident", "gss", "sspi", "radius"}) {
            fails("host all all all " + m + "\n", "pg_hba.conf:1: authentication method \"" + m + "\" is not supported by pgloom");
        }
        fails("local all all md6\n", "pg_hba.conf:1: invalid authentication method \"md6\"");
        fails("local all all \"trust\"\n", "pg_hba.conf:1: invalid authentication method \"trust\"");
        fails("host all all all peer\n", "pg_hba.conf:1: peer authentication is only supported on local sockets");
        fails("host all all all cert\n", "pg_hba.conf:1: cert authentication is only supported on hostssl connections");
        fails("local all all cert\n", "pg_hba.conf:1: cert authentication is only supported on hostssl connections");
    }

    @Test
    void optionErrors() {
        fails("local all all md5 map=x\n", "pg_hba.conf:1: authentication option \"map\" is only valid for authentication methods"
                + " peer and cert");
        fails("local all all peer map\n", "pg_hba.conf:1: authentication option not in name=value format: map");
        fails("local all all peer map=\n", "pg_hba.conf:1: authentication option \"map\" needs a map name");
        fails("local all all peer ldapserver=x\n", "pg_hba.conf:1: unrecognized authentication option name: \"ldapserver\"");
        fails("host all all all md5 clientcert=verify-ca\n", "pg_hba.conf:1: clientcert can only be configured for \"hostssl\" rows");
        fails("hostssl all all all md5 clientcert=1\n", "pg_hba.conf:1: invalid value for clientcert: \"1\" (verify-ca or"
                + " verify-full)");
        fails("hostssl all all all cert clientcert=verify-ca\n", "pg_hba.conf:1: clientcert only accepts \"verify-full\" when"
                + " using \"cert\" authentication");
        fails("hostssl all all all cert clientname=UID\n", "pg_hba.conf:1: invalid value for clientname: \"UID\" (CN or DN)");
    }

    @Test
    void loadNamesTheFileWhenItCannotBeRead() {
        Path missing = dir.resolve("nope.conf");
        assertThatThrownBy(() -> HbaFile.load(missing)).isInstanceOf(HbaException.class)
                .hasMessageStartingWith(missing + ": cannot read: ");
    }
}
