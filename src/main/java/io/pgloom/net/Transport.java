package io.pgloom.net;

import io.pgloom.net.epoll.EpollTransport;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.file.Path;

/**
 * How sockets are made: the native Linux epoll transport (default where it works) or the JDK's
 * NIO channels (portable fallback), chosen with the {@code transport} setting.
 */
public interface Transport {
    /** Connects (the calling virtual thread parks until connected). */
    Wire connect(SocketAddress address, int unixPort) throws IOException;

    Acceptor listenTcp(String host, int port, int backlog, boolean reusePort) throws IOException;

    Acceptor listenUnix(Path path, int backlog) throws IOException;

    String name();

    /** A listening socket. */
    interface Acceptor {
        /** Blocks until a connection arrives. */
        Wire accept(int unixPort) throws IOException;

        /** The bound address ("127.0.0.1:6432"). */
        String boundText();

        int boundPort();

        void close();

        /** Wakes a blocked accept without accepting (it throws {@link ReadInterruptedException}). */
        default void interrupt() {
        }

        /** The descriptor, or -1 where the transport hides it. */
        default int fd() {
            return -1;
        }
    }

    /** "auto" picks epoll on Linux when it loads, else NIO. */
    static Transport forName(String name, int pollerThreads) {
        io.pgloom.net.epoll.EpollTransport.requestPollers(pollerThreads);
        return forName(name);
    }

    static Transport forName(String name) {
        return switch (name) {
            case "nio" -> NioTransport.INSTANCE;
            case "epoll" -> EpollTransport.get();
            default -> EpollTransport.available() ? EpollTransport.get() : NioTransport.INSTANCE;
        };
    }
}
