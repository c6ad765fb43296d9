package io.pgloom.net;

import io.pgloom.log.Log;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFileAttributeView;
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
    private final ServerSocketChannel channel;
    private final String description;
    private final Path unixPath;
    private final int port;
    private volatile boolean closing;

    private Listener(ServerSocketChannel channel, String description, Path unixPath, int port) {
        this.channel = channel;
        this.description = description;
        this.unixPath = unixPath;
        this.port = port;
    }

    /** Binds a TCP listener; {@code host} "*" means every address. */
    public static Listener tcp(String host, int port, int backlog, boolean reusePort) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            if (reusePort) {
                ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            }
            SocketAddress address = host.equals("*")
                    ? new InetSocketAddress(port)
                    : new InetSocketAddress(InetAddress.getByName(host), port);
            ch.bind(address, backlog);
            InetSocketAddress bound = (InetSocketAddress) ch.getLocalAddress();
            String shown = host.equals("*") ? "*" : bound.getAddress().getHostAddress();
            return new Listener(ch, shown + ":" + bound.getPort(), null, bound.getPort());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Binds the unix socket, refusing a live one and removing a stale one. */
    public static Listener unix(String dir, int port, int backlog, int mode, String group) throws IOException {
        Path path = Path.of(dir, ".s.PGSQL." + port);
        if (Files.exists(path)) {
            if (answers(path)) {
                throw new IOException("unix socket is in use, cannot continue: " + path);
            }
            Files.deleteIfExists(path);
        }
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(path), backlog);
            applyMode(path, mode, group);
            return new Listener(ch, "unix:" + path, path, port);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Whether a live process accepts on that unix socket. */
    public static boolean answers(Path path) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
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
    public void start(Consumer<SocketChannel> onAccept) {
        Thread.ofVirtual().name("accept " + description).start(() -> acceptLoop(onAccept));
    }

    private void acceptLoop(Consumer<SocketChannel> onAccept) {
        while (true) {
            try {
                onAccept.accept(channel.accept());
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                // e.g. too many open files: say so and back off briefly instead of spinning
                Log.warning("accept() failed on " + description + ": " + e.getMessage());
                LockSupport.parkNanos(100_000_000L);
            }
        }
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

    public ServerSocketChannel channel() {
        return channel;
    }

    /** Stops accepting; {@code unlink} removes the unix socket file (not during a takeover). */
    public void close(boolean unlink) {
        closing = true;
        try {
            channel.close();
        } catch (IOException e) {
            // closing a listener cannot fail in a way that matters
        }
        if (unlink && unixPath != null) {
            try {
                Files.deleteIfExists(unixPath);
            } catch (IOException e) {
                Log.warning("could not remove " + unixPath + ": " + e.getMessage());
            }
        }
    }
}
