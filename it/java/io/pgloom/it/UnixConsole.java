package io.pgloom.it;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A raw protocol-v3 client of pgloom's admin console over its unix socket, logged in as
 * {@code pgbouncer} (admitted without a password because the test runs as the same OS user): what
 * a process taking over does, so that a test can play a successor that sends {@code SUSPEND;} and
 * then disappears. Every read is bounded by a timeout.
 *
 * <p>Not thread-safe: one test thread per instance.
 */
final class UnixConsole implements AutoCloseable {

    private final SocketChannel channel;
    private final Selector selector;
    private final Duration timeout;
    private final ByteBuffer in = ByteBuffer.allocate(1 << 16).flip();

    private UnixConsole(SocketChannel channel, Selector selector, Duration timeout) {
        this.channel = channel;
        this.selector = selector;
        this.timeout = timeout;
    }

    /** Connects to {@code <unix_socket_dir>/.s.PGSQL.<port>} and logs in as pgbouncer to pgbouncer. */
    static UnixConsole login(PgloomProcess pgloom, Duration timeout) {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(
                pgloom.unixSocketDir().resolve(".s.PGSQL." + pgloom.port()));
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(address);
            channel.configureBlocking(false);
            Selector selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
            UnixConsole console = new UnixConsole(channel, selector, timeout);
            console.send(RawPg.startupPacket(Map.of("user", "pgbouncer", "database", "pgbouncer",
                    "application_name", "fake-successor")));
            List<RawPg.Message> welcome = console.readUntil('Z');
            if (welcome.stream().anyMatch(m -> m.tag() == 'E')) {
                console.close();
                throw new AssertionError("console login as pgbouncer refused: " + welcome);
            }
            return console;
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // the connect failed; nothing to clean up beyond this
                }
            }
            throw new UncheckedIOException("console login on " + address + " failed", e);
        }
    }

    /** Sends a simple Query and returns every message up to and including ReadyForQuery. */
    List<RawPg.Message> query(String sql) throws IOException {
        send(RawPg.query(sql));
        return readUntil('Z');
    }

    /** The tag of the CommandComplete among {@code messages}, or null. */
    static String commandTag(List<RawPg.Message> messages) {
        for (RawPg.Message m : messages) {
            if (m.tag() == 'C') {
                return new String(m.body(), 0, Math.max(0, m.body().length - 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    void send(byte[] bytes) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(bytes);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (out.hasRemaining()) {
            if (channel.write(out) == 0) {
                if (System.nanoTime() - deadline >= 0) {
                    throw new IOException("write timed out after " + timeout);
                }
                Thread.onSpinWait();
            }
        }
    }

    /** Reads messages up to and including the first one with {@code tag}. */
    List<RawPg.Message> readUntil(char tag) throws IOException {
        List<RawPg.Message> got = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            RawPg.Message m = next(deadline);
            got.add(m);
            if (m.tag() == tag) {
                return got;
            }
        }
    }

    private RawPg.Message next(long deadline) throws IOException {
        while (true) {
            if (in.remaining() >= 5) {
                int len = in.getInt(in.position() + 1);
                if (len < 4) {
                    throw new IOException("bad message length " + len);
                }
                if (in.remaining() >= len + 1) {
                    char tag = (char) in.get();
                    in.getInt();
                    byte[] body = new byte[len - 4];
                    in.get(body);
                    return new RawPg.Message(tag, body);
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("no complete message from the console within " + timeout);
            }
            selector.select(Math.max(1, left / 1_000_000));
            selector.selectedKeys().clear();
            in.compact();
            int n;
            try {
                n = channel.read(in);
            } finally {
                in.flip();
            }
            if (n < 0) {
                throw new EOFException("console connection closed");
            }
        }
    }

    @Override
    public void close() {
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing a test socket
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a test socket
        }
    }
}
