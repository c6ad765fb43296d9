package io.pgloom.net;

import io.pgloom.config.General;
import io.pgloom.config.Values;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;
import jdk.net.ExtendedSocketOptions;

/** The JDK's NIO channels in blocking mode on virtual threads: portable, but costlier per read. */
final class NioTransport implements Transport {
    static final NioTransport INSTANCE = new NioTransport();

    private NioTransport() {
    }

    @Override
    public String name() {
        return "nio";
    }

    @Override
    public Wire connect(SocketAddress address, int unixPort) throws IOException {
        SocketChannel ch = address instanceof UnixDomainSocketAddress
                ? SocketChannel.open(StandardProtocolFamily.UNIX)
                : SocketChannel.open();
        try {
            ch.connect(address);
            return new NioWire(ch, unixPort);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public Acceptor listenTcp(String host, int port, int backlog, boolean reusePort) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            if (reusePort) {
                ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            }
            ch.bind(host.equals("*") ? new InetSocketAddress(port) : new InetSocketAddress(InetAddress.getByName(host), port),
                    backlog);
            return new NioAcceptor(ch, host.equals("*"));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public Acceptor listenUnix(Path path, int backlog) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(path), backlog);
            return new NioAcceptor(ch, false);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private record NioAcceptor(ServerSocketChannel ch, boolean wildcard) implements Acceptor {
        @Override
        public Wire accept(int unixPort) throws IOException {
            SocketChannel c = ch.accept();
            try {
                return new NioWire(c, unixPort);
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }

        @Override
        public String boundText() {
            try {
                SocketAddress a = ch.getLocalAddress();
                if (a instanceof InetSocketAddress inet) {
                    return (wildcard ? "*" : inet.getAddress().getHostAddress()) + ":" + inet.getPort();
                }
                return "unix:" + a;
            } catch (IOException e) {
                return "?";
            }
        }

        @Override
        public int boundPort() {
            try {
                return ch.getLocalAddress() instanceof InetSocketAddress inet ? inet.getPort() : -1;
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public void close() {
            try {
                ch.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }

    /** A JDK SocketChannel in blocking mode. */
    static final class NioWire extends Wire {
        private final SocketChannel channel;
        private final ReentrantLock writeLock = new ReentrantLock();
        private ByteBuffer readView;

        NioWire(SocketChannel ch, int unixPort) throws IOException {
            super(ch.getRemoteAddress(), ch.getLocalAddress(), ch.getRemoteAddress() instanceof UnixDomainSocketAddress
                    || ch.getLocalAddress() instanceof UnixDomainSocketAddress, unixPort);
            this.channel = ch;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            ByteBuffer v = readView;
            if (v == null || v.array() != b) {
                v = ByteBuffer.wrap(b);
                readView = v;
            }
            v.limit(off + len).position(off);
            return channel.read(v);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer src = ByteBuffer.wrap(b, off, len);
            writeLock.lock();
            try {
                while (src.hasRemaining()) {
                    channel.write(src);
                }
            } finally {
                writeLock.unlock();
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // closing a broken socket: nothing left to do
            }
        }

        @Override
        public boolean isOpen() {
            return channel.isOpen();
        }

        @Override
        public SocketAddress remoteAddress() {
            try {
                return channel.getRemoteAddress();
            } catch (IOException e) {
                return null;
            }
        }

        @Override
        public void tune(Values g) throws IOException {
            if (isUnix()) {
                return;
            }
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            boolean keepalive = g.get(General.TCP_KEEPALIVE);
            channel.setOption(StandardSocketOptions.SO_KEEPALIVE, keepalive);
            if (keepalive) {
                setIfPositive(ExtendedSocketOptions.TCP_KEEPIDLE, g.get(General.TCP_KEEPIDLE));
                setIfPositive(ExtendedSocketOptions.TCP_KEEPINTERVAL, g.get(General.TCP_KEEPINTVL));
                setIfPositive(ExtendedSocketOptions.TCP_KEEPCOUNT, g.get(General.TCP_KEEPCNT));
            }
            int buffer = g.get(General.TCP_SOCKET_BUFFER);
            if (buffer > 0) {
                channel.setOption(StandardSocketOptions.SO_SNDBUF, buffer);
                channel.setOption(StandardSocketOptions.SO_RCVBUF, buffer);
            }
        }

        private void setIfPositive(java.net.SocketOption<Integer> option, int value) throws IOException {
            if (value > 0 && channel.supportedOptions().contains(option)) {
                channel.setOption(option, value);
            }
        }

        @Override
        public java.util.Optional<String> peerUserName() {
            if (!isUnix()) {
                return java.util.Optional.empty();
            }
            try {
                return java.util.Optional.of(channel.getOption(ExtendedSocketOptions.SO_PEERCRED).user().getName());
            } catch (IOException | UnsupportedOperationException e) {
                return java.util.Optional.empty();
            }
        }

        @Override
        public boolean peerIsSameUser() {
            try {
                return channel.getOption(ExtendedSocketOptions.SO_PEERCRED).user().getName()
                        .equals(System.getProperty("user.name"));
            } catch (IOException | UnsupportedOperationException e) {
                return false;
            }
        }
    }
}
