package io.pgloom.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Many TCP connections to one port from one thread, with non-blocking channels and one
 * selector: first all of them are opened and held (at most {@code maxPending} connects in flight,
 * so that the listener's backlog never overflows), then each sends the same first bytes (a
 * StartupMessage) and reads until the server closes it. What each got back is sorted by its
 * first message: {@code "E <SQLSTATE> <message>"} for an ErrorResponse, or how it ended.
 *
 * <p>Not thread-safe: one flood per instance, run on the calling thread.
 */
final class ConnectionFlood implements AutoCloseable {

    /** What a flood saw: how many connections were held at once, and what the server answered. */
    record Outcome(int opened, int connectFailures, Duration openPhase, Duration answerPhase,
            Map<String, Integer> answers) {
    }

    /** One connection's state and what it received (the first {@link #KEEP} bytes). */
    private static final class Conn {
        static final int KEEP = 1024;
        final SocketChannel channel;
        final ByteBuffer got = ByteBuffer.allocate(KEEP);
        ByteBuffer toSend;
        String end;

        Conn(SocketChannel channel) {
            this.channel = channel;
        }
    }

    private final Selector selector;
    private final List<Conn> conns = new ArrayList<>();

    ConnectionFlood() {
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Opens {@code count} connections to 127.0.0.1:{@code port}, holds them all, then has each
     * send {@code firstBytes} and waits until the server has closed every one.
     *
     * @param onAllOpen runs once every connection is open, before anything is sent (a moment to
     *     measure the server holding them all)
     * @throws AssertionError when the flood does not finish within {@code timeout}
     */
    Outcome run(int port, int count, int maxPending, byte[] firstBytes, Runnable onAllOpen, Duration timeout)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long start = System.nanoTime();
        InetSocketAddress target = new InetSocketAddress("127.0.0.1", port);
        int started = 0;
        int pending = 0;
        int connectFailures = 0;
        while (started < count || pending > 0) {
            while (started < count && pending < maxPending) {
                SocketChannel ch = SocketChannel.open();
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.SO_LINGER, 0); // no TIME_WAIT pile-up on our side
                Conn c = new Conn(ch);
                conns.add(c);
                started++;
                if (ch.connect(target)) {
                    ch.register(selector, 0, c);
                } else {
                    ch.register(selector, SelectionKey.OP_CONNECT, c);
                    pending++;
                }
            }
            select(deadline, "connections to open (" + started + " started, " + pending + " pending)");
            for (var it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                SelectionKey k = it.next();
                it.remove();
                Conn c = (Conn) k.attachment();
                if (k.isConnectable()) {
                    pending--;
                    try {
                        c.channel.finishConnect();
                        k.interestOps(0);
                    } catch (IOException e) {
                        connectFailures++;
                        c.end = "connect failed: " + e.getMessage();
                        k.cancel();
                        c.channel.close();
                    }
                }
            }
        }
        Duration openPhase = Duration.ofNanos(System.nanoTime() - start);
        onAllOpen.run();

        long answerStart = System.nanoTime();
        int open = 0;
        for (Conn c : conns) {
            if (c.end == null) {
                c.toSend = ByteBuffer.wrap(firstBytes);
                c.channel.keyFor(selector).interestOps(SelectionKey.OP_WRITE);
                open++;
            }
        }
        int opened = open;
        while (open > 0) {
            select(deadline, open + " connections to be answered and closed");
            for (var it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                SelectionKey k = it.next();
                it.remove();
                Conn c = (Conn) k.attachment();
                if (!k.isValid()) {
                    continue;
                }
                if (k.isWritable()) {
                    if (!write(c, k)) {
                        open--;
                        continue;
                    }
                }
                if (k.isValid() && k.isReadable() && !read(c, k)) {
                    open--;
                }
            }
        }
        Duration answerPhase = Duration.ofNanos(System.nanoTime() - answerStart);
        Map<String, Integer> answers = new TreeMap<>();
        for (Conn c : conns) {
            answers.merge(describe(c), 1, Integer::sum);
        }
        return new Outcome(opened, connectFailures, openPhase, answerPhase, answers);
    }

    private void select(long deadline, String what) throws IOException {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
            throw new AssertionError("connection flood: timed out waiting for " + what);
        }
        selector.select(Math.min(left, 1000));
    }

    /** Writes what is left to send; false when the connection ended. */
    private static boolean write(Conn c, SelectionKey k) throws IOException {
        try {
            c.channel.write(c.toSend);
        } catch (IOException e) {
            return finish(c, k, "reset before sending: " + e.getMessage());
        }
        if (!c.toSend.hasRemaining()) {
            k.interestOps(SelectionKey.OP_READ);
        }
        return true;
    }

    /** Reads what arrived; false when the connection ended (EOF or reset). */
    private static boolean read(Conn c, SelectionKey k) throws IOException {
        ByteBuffer sink = c.got.hasRemaining() ? c.got : ByteBuffer.allocate(4096);
        int n;
        try {
            n = c.channel.read(sink);
        } catch (IOException e) {
            return finish(c, k, "reset");
        }
        if (n < 0) {
            return finish(c, k, "eof");
        }
        return true;
    }

    private static boolean finish(Conn c, SelectionKey k, String how) throws IOException {
        c.end = how;
        k.cancel();
        c.channel.close();
        return false;
    }

    /** {@code "E <SQLSTATE> <message>"} for an ErrorResponse first, else what came and how it ended. */
    private static String describe(Conn c) {
        ByteBuffer b = c.got.duplicate().flip();
        if (b.remaining() >= 5 && b.get(0) == 'E') {
            int len = b.getInt(1);
            if (b.remaining() >= 1 + len) {
                String code = "";
                String message = "";
                int i = 5;
                while (i < 1 + len && b.get(i) != 0) {
                    char field = (char) b.get(i);
                    int end = i + 1;
                    while (b.get(end) != 0) {
                        end++;
                    }
                    String value = new String(c.got.array(), i + 1, end - i - 1, StandardCharsets.UTF_8);
                    if (field == 'C') {
                        code = value;
                    } else if (field == 'M') {
                        message = value;
                    }
                    i = end + 1;
                }
                return "E " + code + " " + message;
            }
        }
        return (b.remaining() == 0 ? "nothing" : b.remaining() + " bytes starting '" + (char) b.get(0) + "'")
                + ", then " + c.end;
    }

    /** Closes every connection still open (with a reset) and the selector. */
    @Override
    public void close() {
        for (Conn c : conns) {
            try {
                c.channel.close();
            } catch (IOException e) {
                // closing a test socket; nothing to do
            }
        }
        try {
            selector.close();
        } catch (IOException e) {
            // closing a test selector; nothing to do
        }
    }
}
