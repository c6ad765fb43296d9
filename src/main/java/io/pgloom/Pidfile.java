package io.pgloom;

import io.pgloom.log.Log;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The {@code pidfile}: refuses to start when it names a live process, removes a stale one, is
 * written atomically (temp file, then rename) and removed at exit. Empty name: no pidfile.
 */
final class Pidfile {
    private final String name;
    private volatile boolean written;

    Pidfile(String name) {
        this.name = name;
    }

    void claim() throws StartupException {
        if (name.isEmpty()) {
            return;
        }
        try {
            if (check()) {
                Log.log("stale pidfile, removing");
                Files.deleteIfExists(Path.of(name));
            }
            write();
        } catch (IOException e) {
            throw new StartupException("pidfile '" + name + "': " + e.getMessage());
        }
    }

    /**
     * Refuses when the pidfile names a live process, or cannot be parsed (as PgBouncer's
     * {@code check_pidfile}); the {@code -d} launcher asks this before it starts its copy.
     *
     * @return true when there is a stale pidfile to remove
     */
    boolean check() throws StartupException, IOException {
        Path path = Path.of(name);
        if (name.isEmpty() || !Files.exists(path)) {
            return false;
        }
        String text = Files.readString(path, StandardCharsets.UTF_8).trim();
        long pid = text.matches("\\d{1,10}") ? Long.parseLong(text) : -1;
        if (pid < 0 || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            throw new StartupException("pidfile '" + name + "' exists, another instance running?");
        }
        return true;
    }

    /** Writes our pid atomically (also used after a takeover, once the old pidfile is gone). */
    void write() throws IOException {
        Path path = Path.of(name);
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp" + ProcessHandle.current().pid());
        Files.writeString(tmp, ProcessHandle.current().pid() + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        written = true;
    }

    void remove() {
        if (!written || name.isEmpty()) {
            return;
        }
        Path path = Path.of(name);
        try {
            String text = Files.readString(path, StandardCharsets.UTF_8).trim();
            if (text.equals(Long.toString(ProcessHandle.current().pid()))) {
                Files.deleteIfExists(path);
            }
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            Log.warning("could not remove pidfile " + name + ": " + e.getMessage());
        }
        written = false;
    }
}
