package io.pgloom.it;

import org.postgresql.Driver;

/**
 * The pgjdbc driver, used directly instead of through {@code DriverManager}: that one would load
 * every JDBC driver on the test classpath, including Testcontainers' {@code jdbc:tc:} driver,
 * which drags in (and complains about) SLF4J even when Docker is never used.
 */
final class Drivers {

    static final Driver PGJDBC = new Driver();

    private Drivers() {
    }
}
