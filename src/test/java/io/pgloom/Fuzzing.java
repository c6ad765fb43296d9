package io.pgloom;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The contract every decoder's fuzz target is held to, the same in the three ways a target runs:
 * Jazzer's regression mode on the committed corpus ({@code src/test/resources/<package>/<Class>
 * Inputs/<method>/}, in every {@code bin/test}), the seeded mutation pass over that corpus
 * ({@link #mutateCorpus}, also in every {@code bin/test}) and real coverage-guided fuzzing
 * ({@code JAZZER_FUZZ=1}, README "Tests"). For any input a decoder must
 * <ul>
 *   <li>return, or throw one of the exception types it declares, with a non-blank message (no
 *       index error, no NullPointerException, no StackOverflowError, ...);
 *   <li>finish within {@link #SLOW} (a hang is stopped by the test class's {@code @Timeout}, which
 *       Jazzer also turns into libFuzzer's {@code -timeout});
 *   <li>allocate at most the bound the target states, which is what keeps a length field that
 *       claims gigabytes from being believed before the size limit is checked.
 * </ul>
 * Thread-confined: each call measures the calling thread.
 */
public final class Fuzzing {
    private Fuzzing() {
    }

    /** One input may take this long; much more means a super-linear path somewhere. */
    public static final Duration SLOW = Duration.ofSeconds(10);

    /** Whether Jazzer is fuzzing (JAZZER_FUZZ=1) rather than replaying the corpus without its agent. */
    private static final boolean FUZZING = !System.getenv().getOrDefault("JAZZER_FUZZ", "").isEmpty();

    /**
     * When fuzzing, Jazzer's comparison and regex hooks allocate on the fuzzed thread too (a
     * 143-byte TOML input that allocates 2.6 KB on its own measured 9.6 MB under them), so the
     * stated bounds are widened this much. A length field that is believed still stands out: it
     * costs up to gigabytes, not a few megabytes.
     */
    private static final long FUZZING_ALLOCATION_SLACK = 16;

    /** How long each mutation pass runs ({@code -Dfuzz.seconds=N}). */
    private static final double PASS_SECONDS = Double.parseDouble(System.getProperty("fuzz.seconds", "1"));

    /** Replays a mutation pass: {@code -Dfuzz.seed=N} as printed by a failure. */
    private static final Long SEED = Long.getLong("fuzz.seed");

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** The decoding under test. */
    @FunctionalInterface
    public interface Target {
        void run() throws Exception;
    }

    /**
     * Runs {@code target} on {@code input} (only used to describe a failure) and checks the
     * contract.
     *
     * @param maxAllocatedBytes what the decoding may allocate on this thread
     * @param allowed the exceptions the decoder declares
     */
    @SafeVarargs
    public static void check(byte[] input, long maxAllocatedBytes, Target target, Class<? extends Throwable>... allowed) {
        long limit = FUZZING ? maxAllocatedBytes * FUZZING_ALLOCATION_SLACK : maxAllocatedBytes;
        Run run = measure(target);
        if (run.nanos > SLOW.toNanos() || run.allocated > limit) {
            // The first run of a code path loads (and under Jazzer instruments) classes on this
            // thread, which counts as its allocation and time: judge a second, warm run.
            run = measure(target);
        }
        if (run.thrown != null) {
            Throwable t = run.thrown;
            if (!isAllowed(t, allowed)) {
                fail("undeclared " + t + " for input " + describe(input), t);
            }
            if (t.getMessage() == null || t.getMessage().isBlank()) {
                fail("declared " + t.getClass().getName() + " without a message for input " + describe(input), t);
            }
        }
        if (run.nanos > SLOW.toNanos()) {
            fail("took " + run.nanos / 1_000_000 + " ms for input " + describe(input));
        }
        if (run.allocated > limit) {
            fail("allocated " + run.allocated + " bytes (limit " + limit + ") for input " + describe(input));
        }
    }

    /** Fails the fuzz target (an invariant of the decoder's result does not hold). */
    public static void require(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    private record Run(Throwable thrown, long nanos, long allocated) {
    }

    private static Run measure(Target target) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        long start = System.nanoTime();
        Throwable thrown = null;
        try {
            target.run();
        } catch (Throwable t) {
            thrown = t;
        }
        long nanos = System.nanoTime() - start;
        long allocated = before < 0 ? 0 : THREADS.getCurrentThreadAllocatedBytes() - before;
        return new Run(thrown, nanos, allocated);
    }

    private static boolean isAllowed(Throwable t, Class<? extends Throwable>[] allowed) {
        for (Class<? extends Throwable> c : allowed) {
            if (c.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** A short printable form of an input for failure messages (hex past 200 bytes is cut). */
    public static String describe(byte[] input) {
        int n = Math.min(input.length, 200);
        String text = new String(input, 0, n, StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", ".");
        return input.length + " bytes, text \"" + text + "\", hex " + HexFormat.of().formatHex(input, 0, n)
                + (input.length > n ? "..." : "");
    }

    // *** the seeded mutation pass ***

    /**
     * Feeds random mutations of the committed corpus of {@code testClass}'s fuzz test
     * {@code method} to {@code target} for {@code -Dfuzz.seconds} (1 by default): byte flips,
     * interesting 32-bit values (length fields), insertions of the target's {@code tokens},
     * deletions, duplications, splices of two entries and truncations. The seed is new each run
     * and part of every failure; {@code -Dfuzz.seed=N} replays one.
     */
    public static void mutateCorpus(Class<?> testClass, String method, List<String> tokens, Consumer<byte[]> target) {
        List<byte[]> corpus = corpus(testClass, method);
        if (corpus.isEmpty()) {
            fail("no corpus for " + testClass.getSimpleName() + "." + method);
        }
        long seed = SEED != null ? SEED : new Random().nextLong();
        Random random = new Random(seed);
        List<byte[]> dictionary = tokens.stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
        long deadline = System.nanoTime() + (long) (PASS_SECONDS * 1e9);
        long runs = 0;
        try {
            do {
                byte[] input = corpus.get(random.nextInt(corpus.size()));
                int rounds = 1 + random.nextInt(4);
                for (int i = 0; i < rounds; i++) {
                    input = mutate(input, random, corpus, dictionary);
                }
                target.accept(input);
                runs++;
            } while (System.nanoTime() < deadline);
        } catch (AssertionError e) {
            throw new AssertionError("mutation pass of " + testClass.getSimpleName() + "." + method + " failed after "
                    + runs + " inputs; replay with -Dfuzz.seed=" + seed + ": " + e.getMessage(), e);
        }
    }

    /** The committed inputs of one fuzz test. */
    public static List<byte[]> corpus(Class<?> testClass, String method) {
        URL url = testClass.getResource(testClass.getSimpleName() + "Inputs/" + method);
        if (url == null) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
            List<byte[]> out = new ArrayList<>();
            for (Path p : files.sorted().toList()) {
                out.add(Files.readAllBytes(p));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final int[] INTERESTING = {0, 1, 3, 4, 5, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
        0x7fffffff, 0x80000000, 0xffffffff, 0x00030000, 0x04d2162f, 0x04d2162e, 0x04d21630};

    private static byte[] mutate(byte[] in, Random r, List<byte[]> corpus, List<byte[]> dictionary) {
        int n = in.length;
        int at = n == 0 ? 0 : r.nextInt(n + 1);
        switch (r.nextInt(9)) {
            case 0 -> {
                if (n > 0) {
                    byte[] out = in.clone();
                    out[Math.min(at, n - 1)] ^= (byte) (1 << r.nextInt(8));
                    return out;
                }
                return new byte[] {(byte) r.nextInt(256)};
            }
            case 1 -> {
                byte[] b = new byte[1 + r.nextInt(3)];
                r.nextBytes(b);
                return splice(in, at, at, b);
            }
            case 2 -> {
                int v = INTERESTING[r.nextInt(INTERESTING.length)];
                byte[] b = {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
                int to = Math.min(n, at + (r.nextBoolean() ? 4 : 0));
                return splice(in, at, to, b);
            }
            case 3 -> {
                return dictionary.isEmpty() ? in : splice(in, at, at, dictionary.get(r.nextInt(dictionary.size())));
            }
            case 4 -> {
                int to = Math.min(n, at + 1 + r.nextInt(16));
                return splice(in, at, to, new byte[0]);
            }
            case 5 -> {
                int len = Math.min(n - Math.min(at, n), 1 + r.nextInt(64));
                byte[] copy = java.util.Arrays.copyOfRange(in, Math.min(at, n), Math.min(at, n) + len);
                byte[] out = in;
                for (int i = r.nextInt(8); i >= 0; i--) {
                    out = splice(out, at, at, copy);
                }
                return out;
            }
            case 6 -> {
                byte[] other = corpus.get(r.nextInt(corpus.size()));
                int from = other.length == 0 ? 0 : r.nextInt(other.length);
                return splice(java.util.Arrays.copyOf(in, Math.min(at, n)), Math.min(at, n), Math.min(at, n),
                        java.util.Arrays.copyOfRange(other, from, other.length));
            }
            case 7 -> {
                return java.util.Arrays.copyOf(in, Math.min(at, n));
            }
            default -> {
                if (n > 0) {
                    byte[] out = in.clone();
                    out[Math.min(at, n - 1)] = (byte) INTERESTING[r.nextInt(INTERESTING.length)];
                    return out;
                }
                return in;
            }
        }
    }

    private static byte[] splice(byte[] in, int from, int to, byte[] insert) {
        byte[] out = new byte[in.length - (to - from) + insert.length];
        System.arraycopy(in, 0, out, 0, from);
        System.arraycopy(insert, 0, out, from, insert.length);
        System.arraycopy(in, to, out, from + insert.length, in.length - to);
        return out;
    }
}
