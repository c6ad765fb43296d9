package io.pgloom.config;

/** How clients prove who they are (PgBouncer's auth_type). */
public enum AuthType {
    ANY("any"), TRUST("trust"), PLAIN("plain"), MD5("md5"), SCRAM_SHA_256("scram-sha-256"), CERT("cert"), HBA("hba"),
    PAM("pam"), LDAP("ldap");

    private final String word;

    AuthType(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }

    public static final ValueType<AuthType> TYPE = ValueTypes.enumeration(AuthType.class, AuthType::word);
}
