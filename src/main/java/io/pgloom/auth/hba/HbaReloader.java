package io.pgloom.auth.hba;

import io.pgloom.config.AuthType;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The HBA rules and ident maps in force when {@code auth_type = "hba"}: read at startup (a bad
 * file stops the start, naming the key), re-read on RELOAD, where a bad file keeps the rules in
 * force and the caller logs why. Connections take {@link #current()} once per login, so a reload
 * never changes a login half-way. Thread-safe: the rules are immutable and published through a
 * volatile field; reloads are serialised.
 */
public final class HbaReloader {
    /** An HBA file and the ident maps its {@code map=} options refer to (null when there is no ident file). */
    public record Rules(HbaFile hba, IdentMap ident) {
        /** Whether ident map {@code map} lets system user {@code systemUser} log in as {@code user}. */
        public boolean mapAllows(String map, String systemUser, String user) {
            return ident != null && ident.allows(map, systemUser, user);
        }
    }

    private final ReentrantLock reloadLock = new ReentrantLock();
    private volatile Rules current;

    private HbaReloader(Rules rules) {
        this.current = rules;
    }

    /**
     * At startup: the rules {@code [pgloom]} names, or none when auth_type is not hba. The
     * exception's message starts with the key to blame. Problems that do not stop the start
     * (maps named in the HBA file but not defined) go to {@code warnings}.
     */
    public static HbaReloader load(Values general, List<String> warnings) throws HbaException {
        return new HbaReloader(general.get(General.AUTH_TYPE) == AuthType.HBA ? read(general, warnings) : null);
    }

    /** The rules in force, or null when auth_type was never hba. */
    public Rules current() {
        return current;
    }

    /**
     * RELOAD: reads the files again when auth_type is hba and swaps the rules in when both
     * files are good. Returns the error (the old rules stay in force) or empty; warnings as for
     * {@link #load}.
     */
    public Optional<String> reload(Values general, List<String> warnings) {
        if (general.get(General.AUTH_TYPE) != AuthType.HBA) {
            return Optional.empty();
        }
        reloadLock.lock();
        try {
            current = read(general, warnings);
            return Optional.empty();
        } catch (HbaException e) {
            return Optional.of(e.getMessage());
        } finally {
            reloadLock.unlock();
        }
    }

    private static Rules read(Values general, List<String> warnings) throws HbaException {
        String hbaPath = general.get(General.AUTH_HBA_FILE);
        if (hbaPath.isEmpty()) {
            throw new HbaException(General.AUTH_HBA_FILE.name() + ": must be set when auth_type is hba");
        }
        HbaFile hba;
        try {
            hba = HbaFile.load(Path.of(hbaPath));
        } catch (HbaException e) {
            throw new HbaException(General.AUTH_HBA_FILE.name() + ": " + e.getMessage());
        }
        String identPath = general.get(General.AUTH_IDENT_FILE);
        IdentMap ident = null;
        if (!identPath.isEmpty()) {
            try {
                ident = IdentMap.load(Path.of(identPath));
            } catch (HbaException e) {
                throw new HbaException(General.AUTH_IDENT_FILE.name() + ": " + e.getMessage());
            }
        }
        warnings.addAll(undefinedMaps(hba, ident));
        return new Rules(hba, ident);
    }

    /** One warning per map the HBA file names and the ident file does not define. */
    static List<String> undefinedMaps(HbaFile hba, IdentMap ident) {
        List<String> out = new ArrayList<>();
        for (String map : hba.mapNames()) {
            if (ident == null) {
                out.add(General.AUTH_HBA_FILE.name() + ": map \"" + map + "\" is used but " + General.AUTH_IDENT_FILE.name()
                        + " is not set: every login through it fails");
            } else if (!ident.mapNames().contains(map)) {
                out.add(General.AUTH_HBA_FILE.name() + ": map \"" + map + "\" is not defined in " + ident.fileName()
                        + ": every login through it fails");
            }
        }
        return out;
    }
}
