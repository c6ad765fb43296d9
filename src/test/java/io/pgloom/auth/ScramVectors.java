package io.pgloom.auth;

import java.util.Base64;

/** Fixed test data shared by the SCRAM tests: RFC 7677's example and a Python-built secret. */
final class ScramVectors {
    // RFC 7677 section 3.
    static final String RFC_PASSWORD = "pencil";
    static final String RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
    static final String RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    static final byte[] RFC_SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    static final String RFC_CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    static final String RFC_SERVER_FIRST =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    static final String RFC_CLIENT_FINAL = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    static final String RFC_SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    /**
     * The secret PostgreSQL's scram_build_secret() would store for password "secret", salt bytes
     * 1..16 and 4096 iterations, computed independently with Python's hashlib.pbkdf2_hmac and hmac.
     */
    static final String PYTHON_SECRET_FOR_SECRET = "SCRAM-SHA-256$4096:AQIDBAUGBwgJCgsMDQ4PEA==$"
            + "8rrDg00OqaiWXJ7p+sCgHEIaBSHY89ZJl3mfIsf32oY=:05L1f+yZbiN8O0AnO40Og85NNRhvzTS57naKRWCcsIA=";

    private ScramVectors() {
    }

    static Secret.Scram rfcSecret() {
        return ScramKeys.derive(RFC_PASSWORD, RFC_SALT, 4096).toSecret(RFC_SALT, 4096);
    }

    static ScramServer rfcServer() {
        return new ScramServer(rfcSecret(), false, null, RFC_SERVER_NONCE, ScramLimits.DEFAULTS);
    }
}
