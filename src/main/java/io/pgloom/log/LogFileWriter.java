package io.pgloom.log;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.tinylog.core.LogEntry;
import org.tinylog.writers.AbstractFormatPatternWriter;

/**
 * tinylog writer for {@code logfile}: appends to the file named by {@link LogSetup#logfile()},
 * and reopens it when RELOAD or SIGHUP asks (so logrotate can move it away) or when the name
 * changes. Runs only on tinylog's writing thread.
 */
public final class LogFileWriter extends AbstractFormatPatternWriter {
    private OutputStream out;
    private String openName = "";
    private long openGeneration = -1;

    public LogFileWriter(Map<String, String> properties) {
        super(properties);
    }

    @Override
    public void write(LogEntry entry) throws IOException {
        String name = LogSetup.logfile();
        long generation = LogSetup.reopenGeneration();
        if (!name.equals(openName) || generation != openGeneration) {
            reopen(name, generation);
        }
        if (out != null) {
            out.write(render(entry).getBytes(StandardCharsets.UTF_8));
        }
    }

    private void reopen(String name, long generation) throws IOException {
        close();
        openName = name;
        openGeneration = generation;
        if (!name.isEmpty()) {
            out = new FileOutputStream(name, true);
        }
    }

    @Override
    public void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    @Override
    public void close() throws IOException {
        if (out != null) {
            OutputStream o = out;
            out = null;
            o.close();
        }
    }
}
