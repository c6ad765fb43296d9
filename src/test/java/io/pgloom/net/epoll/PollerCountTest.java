package io.pgloom.net.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PollerCountTest {
    @Test
    void onePollerPerTwoProcessorsAtLeastOne() {
        assertThat(EpollTransport.defaultPollers(1)).isEqualTo(1);
        assertThat(EpollTransport.defaultPollers(2)).isEqualTo(1);
        assertThat(EpollTransport.defaultPollers(3)).isEqualTo(2);
        assertThat(EpollTransport.defaultPollers(16)).isEqualTo(8);
    }
}
