package io.pgloom.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** metrics_listen values: host:port, [v6]:port, *:port; anything else names the key in its error. */
class MetricsListenTest {

    @Test
    void accepted() {
        InetSocketAddress a = MetricsEndpoint.parseListen("127.0.0.1:9127");
        assertThat(a.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(a.getPort()).isEqualTo(9127);
        assertThat(MetricsEndpoint.parseListen("[::1]:80").getAddress().getHostAddress()).isEqualTo("0:0:0:0:0:0:0:1");
        assertThat(MetricsEndpoint.parseListen("*:9127").getAddress().isAnyLocalAddress()).isTrue();
        assertThat(MetricsEndpoint.parseListen(" :9127 ").getPort()).isEqualTo(9127);
    }

    @Test
    void rejectedWithTheKeyNamed() {
        for (String bad : new String[] {"9127", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:0",
            "127.0.0.1:70000", "::1:9127", "no-such-host.invalid:9127"}) {
            assertThatThrownBy(() -> MetricsEndpoint.parseListen(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("metrics_listen: ")
                    .hasMessageNotContaining("\n");
        }
    }
}
