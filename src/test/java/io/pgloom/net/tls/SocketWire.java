package io.pgloom.net.tls;

import io.pgloom.config.Values;
import io.pgloom.net.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A test {@link Wire} over a blocking {@link Socket}: reads on the owner's thread, writes under a
 * write lock, close from anywhere. {@link #pair()} makes two connected loopback wires.
 */
final class SocketWire extends Wire {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final ReentrantLock writeLock = new ReentrantLock();

    SocketWire(Socket socket) throws IOException {
        super(socket.getRemoteSocketAddress(), socket.getLocalSocketAddress(), false, 0);
        this.socket = socket;
        this.socket.setTcpNoDelay(true);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** {accepted, connecting} over 127.0.0.1. */
    static SocketWire[] pair() throws IOException {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Socket client = new Socket();
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()));
            Socket accepted = listener.accept();
            return new SocketWire[] {new SocketWire(accepted), new SocketWire(client)};
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return in.read(b, off, len);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        writeLock.lock();
        try {
            out.write(b, off, len);
            out.flush();
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a test socket
        }
    }

    @Override
    public boolean isOpen() {
        return !socket.isClosed();
    }

    @Override
    public SocketAddress remoteAddress() {
        return socket.getRemoteSocketAddress();
    }

    @Override
    public void tune(Values general) {
    }

    @Override
    public boolean peerIsSameUser() {
        return false;
    }
}
