package io.pgloom.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgloom.auth.UserList;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * conf/pgloom.toml, the sample users start from: it loads, and it documents every key (so a key
 * cannot be added without a line there), in the order of {@link General}, at its real default,
 * saying which keys RELOAD cannot change and which have no effect. Surefire runs in the project
 * root, so the relative path works.
 */
class SampleConfigTest {
    private static final Path SAMPLE = Path.of("conf/pgloom.toml");
    private static final Path USERLIST = Path.of("conf/userlist.txt");
    private static final Pattern KEY_LINE = Pattern.compile("^(# )?([a-z_0-9]+) = (.*)$");

    private static List<String> lines;

    @BeforeAll
    static void read() throws Exception {
        lines = Files.readAllLines(SAMPLE, StandardCharsets.UTF_8);
    }

    /** The lines from the one that equals {@code from} up to (not including) the one that equals {@code to}. */
    private static List<String> between(String from, String to) {
        int start = lines.indexOf(from);
        assertThat(start).as("line %s in %s", from, SAMPLE).isNotNegative();
        int end = to == null ? lines.size() : lines.indexOf(to);
        assertThat(end).as("line %s in %s", to, SAMPLE).isGreaterThan(start);
        return lines.subList(start + 1, end);
    }

    private static List<String> generalTable() {
        return between("[pgloom]", "[databases]");
    }

    /** Key name to the indexes (within {@code table}) of its lines, commented out or not. */
    private static Map<String, List<Integer>> keyLines(List<String> table) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        for (int i = 0; i < table.size(); i++) {
            Matcher m = KEY_LINE.matcher(table.get(i));
            if (m.matches()) {
                out.computeIfAbsent(m.group(2), k -> new ArrayList<>()).add(i);
            }
        }
        return out;
    }

    @Test
    void loadsAsItIs() throws Exception {
        Config c = Config.load(SAMPLE);
        assertThat(c.get(General.LISTEN_ADDR)).containsExactly("127.0.0.1");
        assertThat(c.get(General.LISTEN_PORT)).isEqualTo(6432);
        assertThat(c.get(General.UNIX_SOCKET_DIR)).isEqualTo("/tmp");
        assertThat(c.get(General.AUTH_TYPE)).isEqualTo(AuthType.SCRAM_SHA_256);
        assertThat(c.get(General.AUTH_FILE)).isEqualTo("conf/userlist.txt");
        assertThat(c.get(General.ADMIN_USERS)).containsExactly("postgres");
        assertThat(c.get(General.POOL_MODE)).isEqualTo(PoolMode.TRANSACTION);
        assertThat(c.databases()).containsOnlyKeys("app");
        assertThat(c.users()).containsOnlyKeys("app");
        assertThat(c.peers()).isEmpty();
        for (Setting<?> key : General.SECTION.settings()) {
            if (!List.of("listen_addr", "listen_port", "unix_socket_dir", "auth_type", "auth_file", "admin_users", "pool_mode")
                    .contains(key.name())) {
                assertThat(c.general().getAny(key)).as("%s is left at its default", key.name()).isEqualTo(key.defaultValue());
            }
        }
    }

    @Test
    void everyKeyIsDocumented() {
        Map<String, List<Integer>> general = keyLines(generalTable());
        for (Setting<?> key : General.SECTION.settings()) {
            assertThat(general).as("[pgloom] %s in %s", key.name(), SAMPLE).containsKey(key.name());
        }
        Map<String, List<Integer>> database = keyLines(between("[databases.app]", "[users.app]"));
        for (Setting<?> key : DatabaseKeys.SECTION.settings()) {
            assertThat(database).as("[databases.app] %s in %s", key.name(), SAMPLE).containsKey(key.name());
        }
        Map<String, List<Integer>> user = keyLines(between("[users.app]", "# [peers.1]"));
        for (Setting<?> key : UserKeys.SECTION.settings()) {
            assertThat(user).as("[users.app] %s in %s", key.name(), SAMPLE).containsKey(key.name());
        }
        Map<String, List<Integer>> peer = keyLines(between("# [peers.1]", null));
        for (Setting<?> key : PeerKeys.SECTION.settings()) {
            assertThat(peer).as("[peers.1] %s in %s", key.name(), SAMPLE).containsKey(key.name());
        }
        List<String> unknown = new ArrayList<>(general.keySet());
        unknown.removeIf(name -> General.SECTION.find(name) != null);
        assertThat(unknown).as("keys in [pgloom] of %s that pgloom does not know", SAMPLE).isEmpty();
    }

    @Test
    void generalKeysAreInTheOrderOfGeneralJava() {
        Map<String, List<Integer>> general = keyLines(generalTable());
        List<String> inFile = new ArrayList<>(general.keySet());
        List<String> declared = General.SECTION.settings().stream().map(Setting::name).toList();
        assertThat(inFile).containsExactlyElementsOf(declared);
    }

    @Test
    void commentsSayWhatReloadCannotChangeAndWhatHasNoEffect() {
        List<String> table = generalTable();
        Map<String, List<Integer>> general = keyLines(table);
        for (Setting<?> key : General.SECTION.settings()) {
            String comment = commentAbove(table, general.get(key.name()).getFirst()).toLowerCase(Locale.ROOT);
            assertThat(comment).as("comment of %s", key.name()).isNotBlank();
            assertThat(comment.contains("not changeable by reload")).as("%s: \"not changeable by RELOAD\" in: %s", key.name(), comment)
                    .isEqualTo(!key.reloadable() && key.supported());
            assertThat(comment.contains("accepted for compatibility, no effect in pgloom"))
                    .as("%s: \"accepted for compatibility, no effect in pgloom\" in: %s", key.name(), comment)
                    .isEqualTo(!key.supported());
        }
    }

    /** The comment lines (not key lines) right above line {@code index}, joined. */
    private static String commentAbove(List<String> table, int index) {
        StringBuilder b = new StringBuilder();
        for (int i = index - 1; i >= 0; i--) {
            String line = table.get(i);
            if (!line.startsWith("#") || KEY_LINE.matcher(line).matches()) {
                break;
            }
            b.insert(0, line.substring(1).strip() + " ");
        }
        return b.toString();
    }

    @Test
    void commentedOutValuesAreTheDefaults(@TempDir Path dir) throws Exception {
        StringBuilder toml = new StringBuilder("[pgloom]\n");
        List<String> keys = new ArrayList<>();
        for (String line : generalTable()) {
            Matcher m = KEY_LINE.matcher(line);
            if (m.matches() && m.group(1) != null) {
                toml.append(m.group(2)).append(" = ").append(m.group(3)).append('\n');
                keys.add(m.group(2));
            }
        }
        Path file = dir.resolve("defaults.toml");
        Files.writeString(file, toml);
        Config c = Config.load(file);
        for (String name : keys) {
            Setting<?> key = General.SECTION.find(name);
            assertThat(c.general().getAny(key)).as("commented-out value of %s", name).isEqualTo(key.defaultValue());
        }
        List<String> missing = new ArrayList<>();
        for (Setting<?> key : General.SECTION.settings()) {
            if (!keys.contains(key.name()) && !key.type().toml(cast(key.defaultValue())).isEmpty()) {
                Matcher active = null;
                for (String line : generalTable()) {
                    Matcher m = KEY_LINE.matcher(line);
                    if (m.matches() && m.group(1) == null && m.group(2).equals(key.name())) {
                        active = m;
                    }
                }
                if (active == null || !active.group(3).equals(tomlOf(key))) {
                    missing.add(key.name());
                }
            }
        }
        assertThat(missing).as("keys shown neither commented out at their default nor set to it").isEmpty();
    }

    @SuppressWarnings("unchecked")
    private static <T> T cast(Object o) {
        return (T) o;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static String tomlOf(Setting key) {
        return key.type().toml(key.defaultValue());
    }

    @Test
    void databaseAndUserExamplesLoadWhenUncommented(@TempDir Path dir) throws Exception {
        StringBuilder toml = new StringBuilder("[databases.app]\n");
        for (String line : between("[databases.app]", "[users.app]")) {
            Matcher m = KEY_LINE.matcher(line);
            if (m.matches()) {
                toml.append(m.group(2)).append(" = ").append(m.group(3)).append('\n');
            }
        }
        toml.append("[users.app]\n");
        for (String line : between("[users.app]", "# [peers.1]")) {
            Matcher m = KEY_LINE.matcher(line);
            if (m.matches()) {
                toml.append(m.group(2)).append(" = ").append(m.group(3)).append('\n');
            }
        }
        toml.append("[peers.1]\n");
        for (String line : between("# [peers.1]", null)) {
            Matcher m = KEY_LINE.matcher(line.replaceFirst("\\s+#.*$", ""));
            if (m.matches()) {
                toml.append(m.group(2)).append(" = ").append(m.group(3)).append('\n');
            }
        }
        Path file = dir.resolve("examples.toml");
        Files.writeString(file, toml);
        Config c = Config.load(file);
        Values app = c.databases().get("app");
        for (Setting<?> key : DatabaseKeys.SECTION.settings()) {
            assertThat(app.isSet(key)).as("[databases.app] %s", key.name()).isTrue();
        }
        Values user = c.users().get("app");
        for (Setting<?> key : UserKeys.SECTION.settings()) {
            assertThat(user.isSet(key)).as("[users.app] %s", key.name()).isTrue();
        }
        assertThat(c.peers().get(1).get(PeerKeys.HOST)).isEqualTo("/tmp");
    }

    @Test
    void connectionStringExampleLoadsWhenUncommented(@TempDir Path dir) throws Exception {
        String example = between("[databases]", "[databases.app]").stream()
                .filter(l -> l.startsWith("# postgres = "))
                .findFirst().orElseThrow().substring(2);
        Path file = dir.resolve("connstring.toml");
        Files.writeString(file, "[databases]\n" + example + "\n");
        Values db = Config.load(file).databases().get("postgres");
        assertThat(db.get(DatabaseKeys.HOST)).isEqualTo("127.0.0.1");
        assertThat(db.get(DatabaseKeys.CONNECT_QUERY)).isEqualTo("SET a=1; SET b=2");
    }

    @Test
    void sampleUserListHoldsOnlyACommentedExample() throws Exception {
        assertThat(UserList.load(USERLIST).size()).isZero();
        String example = Files.readAllLines(USERLIST).stream().filter(l -> l.contains("\"app\"")).findFirst().orElseThrow();
        UserList uncommented = UserList.parse(example.replaceFirst("^[;#]\\s*", ""), "userlist.txt");
        assertThat(uncommented.secrets()).containsOnlyKeys("app");
    }
}
