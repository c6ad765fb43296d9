package io.pgloom.net.tls;

import io.pgloom.config.Values;
import java.io.IOException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The TLS contexts in use, one facing clients and one facing servers. RELOAD builds new ones
 * from the new settings and swaps them in only when building worked; otherwise the old ones stay
 * and the caller gets the reason to log ("TLS settings could not be applied, still using old
 * configuration"). Connections take the context when they start their handshake, so existing
 * connections keep theirs. Thread-safe: the contexts are immutable and published through
 * volatile fields; reloads are serialised.
 */
public final class TlsReloader {
    private volatile TlsContext clients;
    private volatile TlsContext servers;
    private final ReentrantLock reloadLock = new ReentrantLock();

    public TlsReloader(TlsContext clients, TlsContext servers) {
        this.clients = check(clients, TlsSettings.Side.CLIENTS);
        this.servers = check(servers, TlsSettings.Side.SERVERS);
    }

    /** At startup: both contexts from {@code [pgloom]}, or the error that stops the start. */
    public static TlsReloader load(Values general) throws IOException {
        return new TlsReloader(TlsSettings.forClients(general).build(), TlsSettings.forServers(general).build());
    }

    /** The context for accepted client connections. */
    public TlsContext clients() {
        return clients;
    }

    /** The context for connections to PostgreSQL. */
    public TlsContext servers() {
        return servers;
    }

    /**
     * Rebuilds the side {@code settings} are for. Returns the error text when that failed (the
     * old context stays), empty when the new context is in use.
     */
    public Optional<String> reload(TlsSettings settings) {
        reloadLock.lock();
        try {
            TlsContext built;
            try {
                built = settings.build();
            } catch (IOException | RuntimeException e) {
                return Optional.of(PemFiles.oneLine(e));
            }
            if (settings.side() == TlsSettings.Side.CLIENTS) {
                clients = built;
            } else {
                servers = built;
            }
            return Optional.empty();
        } finally {
            reloadLock.unlock();
        }
    }

    /**
     * Rebuilds both sides from {@code [pgloom]}; both are swapped or neither is. Returns the
     * error text of the side that failed.
     */
    public Optional<String> reload(Values general) {
        reloadLock.lock();
        try {
            TlsContext newClients;
            TlsContext newServers;
            try {
                newClients = TlsSettings.forClients(general).build();
                newServers = TlsSettings.forServers(general).build();
            } catch (IOException | RuntimeException e) {
                return Optional.of(PemFiles.oneLine(e));
            }
            clients = newClients;
            servers = newServers;
            return Optional.empty();
        } finally {
            reloadLock.unlock();
        }
    }

    private static TlsContext check(TlsContext c, TlsSettings.Side side) {
        Objects.requireNonNull(c, "context");
        if (c.settings().side() != side) {
            throw new IllegalArgumentException("expected a context for " + side + ", got " + c.settings().side());
        }
        return c;
    }
}
