package io.pgloom.net;

import io.pgloom.config.General;
import io.pgloom.config.Values;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import jdk.net.ExtendedSocketOptions;

/**
 * Applies the TCP settings of {@code [pgloom]} to a connected socket: TCP_NODELAY always (as
 * PgBouncer and libpq do), keepalive with its idle/interval/count, and buffer sizes.
 * Stateless.
 */
public final class SocketTuning {
    private SocketTuning() {
    }

    public static void apply(SocketChannel ch, Values g, boolean tcp) throws IOException {
        if (!tcp) {
            return;
        }
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        boolean keepalive = g.get(General.TCP_KEEPALIVE);
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, keepalive);
        if (keepalive) {
            setIfPositive(ch, ExtendedSocketOptions.TCP_KEEPIDLE, g.get(General.TCP_KEEPIDLE));
            setIfPositive(ch, ExtendedSocketOptions.TCP_KEEPINTERVAL, g.get(General.TCP_KEEPINTVL));
            setIfPositive(ch, ExtendedSocketOptions.TCP_KEEPCOUNT, g.get(General.TCP_KEEPCNT));
        }
        int buffer = g.get(General.TCP_SOCKET_BUFFER);
        if (buffer > 0) {
            ch.setOption(StandardSocketOptions.SO_SNDBUF, buffer);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, buffer);
        }
    }

    private static void setIfPositive(SocketChannel ch, java.net.SocketOption<Integer> option, int value) throws IOException {
        if (value > 0 && ch.supportedOptions().contains(option)) {
            ch.setOption(option, value);
        }
    }
}
