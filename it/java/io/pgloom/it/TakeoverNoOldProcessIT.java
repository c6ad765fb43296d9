package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code -R} with no process to take over from ("less scary online restart", PgBouncer 1.2):
 * pgloom says {@code old process not found, try to continue normally}, starts as usual, writes its
 * pidfile and serves.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverNoOldProcessIT {

    private PgloomProcess pgloom;

    @AfterEach
    void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    @Test
    void takeoverFlagWithoutOldProcessStartsNormally() throws SQLException {
        PgCluster pg = PgCluster.get();
        PgloomProcess.Builder builder = Takeovers.withPidfile(PgloomProcess.builder())
                .arg("-R")
                .set("pool_mode", "transaction")
                .set("auth_type", "md5")
                .database("app", pg, "app")
                .user("app", "apppass");
        Path pidfile = builder.dir().resolve("pgloom.pid");
        pgloom = builder.start();

        pgloom.waitForLog("old process not found, try to continue normally", Duration.ofSeconds(30));
        pgloom.waitForLog("process up", Duration.ofSeconds(30));
        assertThat(pgloom.logContains("takeover done")).isFalse();
        Wait.until("pgloom to write its pidfile", Duration.ofSeconds(10),
                () -> Exec.read(pidfile).strip().equals(Long.toString(pgloom.pid())));
        try (Connection c = pgloom.connect("app", "app", "apppass")) {
            assertThat(Sql.value(c, "select 'served'")).isEqualTo("served");
        }
        assertThat(Takeovers.show(pgloom, "STATE"))
                .anySatisfy(row -> assertThat(row.values()).containsExactly("active", "yes"));
    }
}
