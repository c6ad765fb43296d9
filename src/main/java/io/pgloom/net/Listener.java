package io.pgloom.net;

import io.pgloom.log.Log;
import java.io.IOException;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One listening socket (TCP, or the unix socket {@code <dir>/.s.PGSQL.<port>}) and its accept
 * loop on a virtual thread. A unix socket file that answers belongs to a live pooler and is
 * refused; one that does not is stale and removed. Thread-safe: {@link #close} from any thread
 * ends the loop.
 */
public final class Listener {
    private final Transport.Acceptor acceptor;
    private final String description;
    private final Path unixPath;
    private final int port;
    private volatile boolean closing;
    private volatile boolean paused;
    private final java.util.concurrent.locks.ReentrantLock pauseLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition unpaused = pauseLock.newCondition();

    private Listener(Transport.Acceptor acceptor, String description, Path unixPath, int port) {
        this.acceptor = acceptor;
        this.description = description;
        this.unixPath = unixPath;
        this.port = port;
    }

    /** Binds a TCP listener; {@code host} "*" means every address. */
    public static Listener tcp(Transport t, String host, int port, int backlog, boolean reusePort) throws IOException {
        Transport.Acceptor a = t.listenTcp(host, port, backlog, reusePort);
        return new Listener(a, a.boundText(), null, a.boundPort());
    }

    /** Binds the unix socket, refusing a live one and removing a stale one. */
    public static Listener unix(Transport t, String dir, int port, int backlog, int mode, String group) throws IOException {
        Path path = unixPath(dir, port);
        if (Files.exists(path)) {
            if (answers(t, path)) {
                throw new IOException("unix socket is in use, cannot continue: " + path);
            }
            Files.deleteIfExists(path);
        }
        Transport.Acceptor a = t.listenUnix(path, backlog);
        try {
            applyMode(path, mode, group);
        } catch (IOException e) {
            a.close();
            throw e;
        }
        return new Listener(a, "unix:" + path, path, port);
    }

    /** A listener around a socket adopted from another process (takeover). */
    public static Listener adopted(Transport.Acceptor a, String unixDir, int port) {
        Path path = unixDir == null ? null : unixPath(unixDir, port);
        return new Listener(a, path == null ? a.boundText() : "unix:" + path, path, path == null ? a.boundPort() : port);
    }

    public static Path unixPath(String dir, int port) {
        return Path.of(dir, ".s.PGSQL." + port);
    }

    /** Whether a live process accepts on that unix socket. */
    public static boolean answers(Transport t, Path path) {
        try {
            t.connect(java.net.UnixDomainSocketAddress.of(path), 0).close();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void applyMode(Path path, int mode, String group) throws IOException {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values();
        for (int i = 0; i < 9; i++) {
            if ((mode & (1 << (8 - i))) != 0) {
                perms.add(bits[i]);
            }
        }
        Files.setPosixFilePermissions(path, perms);
        if (!group.isEmpty()) {
            GroupPrincipal g = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
            Files.getFileAttributeView(path, PosixFileAttributeView.class).setGroup(g);
        }
    }

    /** Starts the accept loop; each accepted socket goes to {@code onAccept} on the loop's thread. */
    public void start(Consumer<Wire> onAccept) {
        Thread.ofVirtual().name("accept " + description).start(() -> acceptLoop(onAccept));
    }

    private void acceptLoop(Consumer<Wire> onAccept) {
        while (!closing) {
            awaitUnpaused();
            try {
                onAccept.accept(acceptor.accept(port));
            } catch (ReadInterruptedException e) {
                // paused: wait at the top of the loop
            } catch (SocketException e) {
                if (closing) {
                    return;
                }
                backOff(e);
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                backOff(e);
            }
        }
    }

    private void awaitUnpaused() {
        pauseLock.lock();
        try {
            while (paused && !closing) {
                unpaused.awaitUninterruptibly();
            }
        } finally {
            pauseLock.unlock();
        }
    }

    /**
     * Stops accepting without closing the socket: connections wait in the backlog (SUSPEND).
     * Returns false when this transport cannot stop a blocked accept.
     */
    public void pause() {
        paused = true;
        acceptor.interrupt();
    }

    public void resume() {
        pauseLock.lock();
        try {
            paused = false;
            unpaused.signalAll();
        } finally {
            pauseLock.unlock();
        }
    }

    /** e.g. too many open files: say so and pause briefly instead of spinning. */
    private void backOff(IOException e) {
        Log.warning("accept() failed on " + description + ": " + e.getMessage());
        LockSupport.parkNanos(100_000_000L);
    }

    public String description() {
        return description;
    }

    public int port() {
        return port;
    }

    public boolean isUnix() {
        return unixPath != null;
    }

    public Transport.Acceptor acceptor() {
        return acceptor;
    }

    /** Stops accepting; {@code unlink} removes the unix socket file (not during a takeover). */
    public void close(boolean unlink) {
        closing = true;
        resume();
        acceptor.close();
        if (unlink && unixPath != null) {
            try {
                Files.deleteIfExists(unixPath);
            } catch (IOException e) {
                Log.warning("could not remove " + unixPath + ": " + e.getMessage());
            }
        }
    }
}
