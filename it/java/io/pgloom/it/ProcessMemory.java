package io.pgloom.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The memory of another process (pgloom): resident set size from {@code /proc/<pid>/status}, and
 * for a JVM its Java heap from {@code jcmd <pid> GC.heap_info} (the JDK running the tests has
 * jcmd). A {@link Sampler} polls both in the background and keeps the peaks.
 *
 * <p>Stateless apart from a Sampler's peaks, which are atomics.
 */
final class ProcessMemory {

    private static final Pattern KB = Pattern.compile("(\\d+)\\s*kB");
    /** G1's line: {@code garbage-first heap   total reserved 65536K, committed 65536K, used 23552K [...]}. */
    private static final Pattern HEAP_USED = Pattern.compile("(?m)heap.*?used (\\d+)K");
    private static final Pattern HEAP_COMMITTED = Pattern.compile("(?m)heap.*?committed (\\d+)K");

    private ProcessMemory() {
    }

    /** The process's resident set size in KiB (VmRSS), or -1 when it has exited. */
    static long rssKb(long pid) {
        return statusKb(pid, "VmRSS:");
    }

    /** The highest resident set size the process ever had, in KiB (VmHWM), or -1 when it has exited. */
    static long peakRssKb(long pid) {
        return statusKb(pid, "VmHWM:");
    }

    private static long statusKb(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field)) {
                    Matcher m = KB.matcher(line);
                    return m.find() ? Long.parseLong(m.group(1)) : -1;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }

    /** Java heap in use (live and garbage) in KiB, by jcmd; -1 when jcmd could not tell. */
    static long heapUsedKb(long pid) {
        return heapField(jcmd(pid, "GC.heap_info"), HEAP_USED);
    }

    /** Java heap committed in KiB, by jcmd; -1 when jcmd could not tell. */
    static long heapCommittedKb(long pid) {
        return heapField(jcmd(pid, "GC.heap_info"), HEAP_COMMITTED);
    }

    /** Java heap in use right after a full collection (the live set), in KiB; -1 when jcmd could not tell. */
    static long liveHeapKb(long pid) {
        jcmd(pid, "GC.run");
        return heapUsedKb(pid);
    }

    private static long heapField(String out, Pattern p) {
        Matcher m = p.matcher(out);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static String jcmd(long pid, String command) {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        Exec.Result r = Exec.run(List.of(jcmd, Long.toString(pid), command), Map.of(), Duration.ofSeconds(20), true);
        return r.exitCode() == 0 ? r.stdout() : "";
    }

    /**
     * Polls a process's RSS (cheap: a /proc read) and its heap use (a jcmd run, which starts a
     * JVM: much less often) in the background until closed, keeping the peaks.
     */
    static final class Sampler implements AutoCloseable {

        private final long pid;
        private final AtomicLong peakRss = new AtomicLong(-1);
        private final AtomicLong peakHeap = new AtomicLong(-1);
        private final AtomicLong samples = new AtomicLong();
        private volatile boolean stopped;
        private final Thread thread;

        /** Starts sampling {@code pid}'s RSS every {@code rssEvery} and its heap every {@code heapEvery}. */
        Sampler(long pid, Duration rssEvery, Duration heapEvery) {
            this.pid = pid;
            this.thread = Thread.ofVirtual().name("memory-sampler-" + pid).start(() -> run(rssEvery, heapEvery));
        }

        private void run(Duration rssEvery, Duration heapEvery) {
            long nextHeap = System.nanoTime();
            while (!stopped) {
                long rss = rssKb(pid);
                if (rss < 0) {
                    return;
                }
                peakRss.accumulateAndGet(rss, Math::max);
                if (System.nanoTime() - nextHeap >= 0) {
                    peakHeap.accumulateAndGet(heapUsedKb(pid), Math::max);
                    nextHeap = System.nanoTime() + heapEvery.toNanos();
                }
                samples.incrementAndGet();
                long next = System.nanoTime() + rssEvery.toNanos();
                Wait.until("the next memory sample", rssEvery.plusSeconds(1),
                        () -> stopped || System.nanoTime() - next >= 0);
            }
        }

        /** The highest RSS sampled so far, in KiB. */
        long peakRssKb() {
            return peakRss.get();
        }

        /** The highest heap use (live and garbage) sampled so far, in KiB. */
        long peakHeapKb() {
            return peakHeap.get();
        }

        long samples() {
            return samples.get();
        }

        @Override
        public void close() throws InterruptedException {
            stopped = true;
            thread.join(Duration.ofSeconds(30));
        }

        @Override
        public String toString() {
            return String.format("peak RSS %.1f MiB, peak heap used %.1f MiB (%d samples)", peakRss.get() / 1024.0,
                    peakHeap.get() / 1024.0, samples.get());
        }
    }
}
