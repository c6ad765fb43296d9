package io.pgloom.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

/** client_login_failure_limit bookkeeping on a made-up clock (which may be negative, as nanoTime). */
class LoginFailuresTest {
    private static final long S = 1_000_000_000L;
    private static final long WINDOW = 60 * S;
    private static final long T0 = -5 * S;

    private static InetAddress address(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void limitWithinTheWindowBlocksForTheWindow() {
        LoginFailures f = new LoginFailures();
        InetAddress a = address("192.0.2.1");
        assertThat(f.blocked(a, T0)).isFalse();
        assertThat(f.failed(a, T0, 3, WINDOW, 100)).isFalse();
        assertThat(f.failed(a, T0 + S, 3, WINDOW, 100)).isFalse();
        assertThat(f.blocked(a, T0 + S)).isFalse();
        assertThat(f.failed(a, T0 + 2 * S, 3, WINDOW, 100)).as("third failure blocks").isTrue();
        assertThat(f.blocked(a, T0 + 2 * S)).isTrue();
        assertThat(f.blocked(a, T0 + 2 * S + WINDOW - 1)).isTrue();
        assertThat(f.blocked(a, T0 + 2 * S + WINDOW)).isFalse();
        assertThat(f.blocked(address("192.0.2.2"), T0 + 2 * S)).as("other addresses").isFalse();
    }

    @Test
    void failuresOlderThanTheWindowAreForgotten() {
        LoginFailures f = new LoginFailures();
        InetAddress a = address("2001:db8::1");
        f.failed(a, T0, 2, WINDOW, 100);
        assertThat(f.failed(a, T0 + WINDOW + 1, 2, WINDOW, 100)).as("the first failure is too old").isFalse();
        assertThat(f.blocked(a, T0 + WINDOW + 1)).isFalse();
        assertThat(f.failed(a, T0 + WINDOW + 2, 2, WINDOW, 100)).isTrue();
    }

    @Test
    void ipv6AddressesCountPerSlash64AndIpv4OnTheirOwn() {
        InetAddress a = LoginFailures.source(address("2001:db8:1:2:aaaa::1"));
        assertThat(LoginFailures.source(address("2001:db8:1:2:ffff:ffff:ffff:ffff"))).isEqualTo(a);
        assertThat(LoginFailures.source(address("2001:db8:1:3::1"))).isNotEqualTo(a);
        assertThat(LoginFailures.describe(a)).isEqualTo("2001:db8:1:2:0:0:0:0/64");
        assertThat(LoginFailures.source(address("192.0.2.7"))).isEqualTo(address("192.0.2.7"));
        assertThat(LoginFailures.describe(address("192.0.2.7"))).isEqualTo("192.0.2.7");
        assertThat(LoginFailures.source(address("::ffff:192.0.2.7"))).as("IPv4-mapped is IPv4").isEqualTo(address("192.0.2.7"));
    }

    @Test
    void limitZeroCountsNothing() {
        LoginFailures f = new LoginFailures();
        InetAddress a = address("192.0.2.1");
        for (int i = 0; i < 10; i++) {
            assertThat(f.failed(a, T0, 0, WINDOW, 100)).isFalse();
        }
        assertThat(f.blocked(a, T0)).isFalse();
        assertThat(f.size()).isZero();
    }

    @Test
    void expireKeepsOnlyBlockedAndCountingAddresses() {
        LoginFailures f = new LoginFailures();
        f.failed(address("192.0.2.1"), T0, 1, WINDOW, 100); // blocked
        f.failed(address("192.0.2.2"), T0, 5, WINDOW, 100); // counting
        f.expire(T0 + S, WINDOW);
        assertThat(f.size()).isEqualTo(2);
        f.expire(T0 + WINDOW + 1, WINDOW);
        assertThat(f.size()).isZero();
    }

    @Test
    void atMostMaxSourcesAreTrackedAndTheRestFailOpen() {
        LoginFailures f = new LoginFailures();
        assertThat(f.failed(address("192.0.2.1"), T0, 1, WINDOW, 2)).isTrue();
        assertThat(f.failed(address("192.0.2.2"), T0, 2, WINDOW, 2)).isFalse();
        assertThat(f.size()).isEqualTo(2);
        assertThat(f.failed(address("192.0.2.3"), T0, 1, WINDOW, 2)).as("a third source, not tracked").isFalse();
        assertThat(f.blocked(address("192.0.2.3"), T0)).isFalse();
        assertThat(f.size()).isEqualTo(2);
        assertThat(f.failed(address("192.0.2.2"), T0 + S, 2, WINDOW, 2)).as("a tracked source still counts").isTrue();
        f.expire(T0 + S + 2 * WINDOW, WINDOW);
        assertThat(f.failed(address("192.0.2.3"), T0 + 3 * WINDOW, 1, WINDOW, 2)).as("room again once expired").isTrue();
    }
}
