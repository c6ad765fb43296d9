package io.pgloom.auth.hba;

/**
 * The authentication methods an HBA rule may name, as pg_hba.conf spells them. {@code
 * password} is PgBouncer's {@code plain} (cleartext).
 */
public enum HbaMethod {
    TRUST("trust"),
    REJECT("reject"),
    MD5("md5"),
    PASSWORD("password"),
    SCRAM_SHA_256("scram-sha-256"),
    CERT("cert"),
    PEER("peer");

    private final String word;

    HbaMethod(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }

    /** The method a pg_hba.conf keyword names, or null. */
    static HbaMethod of(String word) {
        for (HbaMethod m : values()) {
            if (m.word.equals(word)) {
                return m;
            }
        }
        return null;
    }
}
