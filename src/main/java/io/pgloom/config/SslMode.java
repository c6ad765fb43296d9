package io.pgloom.config;

/** libpq's sslmode words, as client_tls_sslmode and server_tls_sslmode use them. */
public enum SslMode {
    DISABLE, ALLOW, PREFER, REQUIRE, VERIFY_CA, VERIFY_FULL;

    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public static final ValueType<SslMode> TYPE = ValueTypes.enumeration(SslMode.class, SslMode::word);
}
