package io.pgloom;

/**
 * Version strings. pgloom reports the PgBouncer release whose behaviour and admin console it
 * follows, so tools that branch on PgBouncer's version (pgbouncer_exporter, pgbouncer_fdw) pick
 * the right columns, and adds its own version after it.
 */
public final class Version {
    private Version() {
    }

    /** The PgBouncer release pgloom is compatible with. */
    public static final String NUMBER = "1.25.2";

    /** pgloom's own version, from the jar manifest. */
    public static final String PGLOOM = pgloomVersion();

    /** As SHOW VERSION prints it. */
    public static final String TEXT = "PgBouncer " + NUMBER + " (pgloom " + PGLOOM + ")";

    private static String pgloomVersion() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }
}
