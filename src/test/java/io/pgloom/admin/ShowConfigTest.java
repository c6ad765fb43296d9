package io.pgloom.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgloom.config.Config;
import io.pgloom.config.General;
import io.pgloom.config.Setting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SHOW CONFIG's rows for a config read from a file: every [pgloom] key, by name, as PgBouncer shows them. */
class ShowConfigTest {

    @TempDir
    Path dir;

    private Map<String, List<String>> rows(String toml) throws Exception {
        Path file = dir.resolve("pgloom.toml");
        Files.writeString(file, toml);
        Config config = Config.load(file);
        Map<String, List<String>> byKey = new LinkedHashMap<>();
        for (List<String> r : ShowCommands.configRows(config.general())) {
            assertThat(r).hasSize(4);
            byKey.put(r.get(0), r);
        }
        return byKey;
    }

    @Test
    void oneRowPerKeyInAlphabeticalOrder() throws Exception {
        Map<String, List<String>> rows = rows("[pgloom]\n");
        List<String> expected = new ArrayList<>();
        for (Setting<?> s : General.SECTION.settings()) {
            expected.add(s.name());
        }
        expected.sort(null);
        assertThat(new ArrayList<>(rows.keySet())).containsExactlyElementsOf(expected);
        assertThat(rows).containsKeys("listen_port", "default_pool_size", "admin_users", "stats_period", "pool_mode");
    }

    @Test
    void valuesDefaultsAndChangeable() throws Exception {
        Map<String, List<String>> rows = rows("""
                [pgloom]
                listen_port = 7432
                default_pool_size = 7
                pool_mode = "transaction"
                admin_users = ["alice", "bob"]
                server_lifetime = "90s"
                query_wait_timeout = 0.5
                log_connections = false
                unix_socket_mode = "0700"
                """);
        assertThat(rows.get("listen_port")).containsExactly("listen_port", "7432", "6432", "no");
        assertThat(rows.get("default_pool_size")).containsExactly("default_pool_size", "7", "20", "yes");
        assertThat(rows.get("pool_mode")).containsExactly("pool_mode", "transaction", "session", "yes");
        assertThat(rows.get("admin_users")).containsExactly("admin_users", "alice,bob", "", "yes");
        assertThat(rows.get("server_lifetime")).containsExactly("server_lifetime", "90", "3600", "yes");
        assertThat(rows.get("query_wait_timeout")).containsExactly("query_wait_timeout", "0.5", "120", "yes");
        assertThat(rows.get("log_connections")).containsExactly("log_connections", "0", "1", "yes");
        assertThat(rows.get("unix_socket_mode")).containsExactly("unix_socket_mode", "0700", "0777", "no");
        assertThat(rows.get("max_client_conn")).containsExactly("max_client_conn", "100", "100", "yes");
        assertThat(rows.get("auth_type")).containsExactly("auth_type", "md5", "md5", "yes");
    }

    @Test
    void changeableFollowsReloadability() throws Exception {
        for (List<String> r : rows("[pgloom]\n").values()) {
            Setting<?> s = General.SECTION.find(r.get(0));
            assertThat(r.get(3)).as(r.get(0)).isEqualTo(s.reloadable() ? "yes" : "no");
        }
    }
}
