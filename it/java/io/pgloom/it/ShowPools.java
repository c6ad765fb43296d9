package io.pgloom.it;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One row of pgloom's {@code SHOW POOLS}, read with psql over pgloom's unix socket as user
 * {@code pgbouncer} (same OS user: no password and no admin_users needed), so any test can look
 * at cl_waiting, sv_idle, pool_mode and the like without extra config.
 *
 * <p>Stateless.
 */
final class ShowPools {

    private ShowPools() {
    }

    /**
     * The SHOW POOLS row of pool ({@code db}, {@code user}) as column name → value, or an empty
     * map when pgloom has no such pool (yet).
     */
    static Map<String, String> row(PgloomProcess pgloom, String db, String user) {
        Psql.Result r = Psql.toSocket(pgloom, "pgbouncer", "pgbouncer", "")
                .run(Duration.ofSeconds(20), "-A", "-F", "|", "-P", "footer=off", "-c", "SHOW POOLS");
        if (!r.ok()) {
            throw new AssertionError("SHOW POOLS failed\n" + r);
        }
        String[] lines = r.stdout().strip().split("\n");
        String[] header = lines[0].split("\\|", -1);
        for (int i = 1; i < lines.length; i++) {
            String[] cells = lines[i].split("\\|", -1);
            if (cells.length == header.length && cells[0].equals(db) && cells[1].equals(user)) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int c = 0; c < header.length; c++) {
                    row.put(header[c], cells[c]);
                }
                return row;
            }
        }
        return Map.of();
    }

    /** An int column of the row; 0 when pgloom has no such pool. */
    static int count(PgloomProcess pgloom, String db, String user, String column) {
        String v = row(pgloom, db, user).get(column);
        return v == null ? 0 : Integer.parseInt(v);
    }
}
