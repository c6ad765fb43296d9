package io.pgloom.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** The value types of configuration keys. All stateless. */
public final class ValueTypes {
    private ValueTypes() {
    }

    public static ValueType<Integer> integer(int min, int max) {
        return new ValueType<>() {
            @Override
            public Integer parse(Object raw) {
                long v = toLong(raw, "an integer from " + min + " to " + max);
                if (v < min || v > max) {
                    throw new IllegalArgumentException("must be an integer from " + min + " to " + max + ", got " + v);
                }
                return (int) v;
            }

            @Override
            public String show(Integer value) {
                return value.toString();
            }

            @Override
            public String toml(Integer value) {
                return value.toString();
            }
        };
    }

    public static final ValueType<Boolean> BOOLEAN = new ValueType<>() {
        @Override
        public Boolean parse(Object raw) {
            if (raw instanceof Boolean b) {
                return b;
            }
            if (raw instanceof Number n && (n.longValue() == 0 || n.longValue() == 1)) {
                return n.longValue() == 1;
            }
            if (raw instanceof String s) {
                switch (s.trim().toLowerCase(Locale.ROOT)) {
                    case "1", "true", "yes", "on" -> {
                        return true;
                    }
                    case "0", "false", "no", "off" -> {
                        return false;
                    }
                    default -> {
                    }
                }
            }
            throw new IllegalArgumentException("must be a boolean (true/false or 1/0), got " + describe(raw));
        }

        @Override
        public String show(Boolean value) {
            return value ? "1" : "0";
        }

        @Override
        public String toml(Boolean value) {
            return value.toString();
        }
    };

    public static final ValueType<String> STRING = new ValueType<>() {
        @Override
        public String parse(Object raw) {
            if (raw instanceof String s) {
                return s;
            }
            if (raw instanceof Number || raw instanceof Boolean) {
                return raw.toString();
            }
            throw new IllegalArgumentException("must be a string, got " + describe(raw));
        }

        @Override
        public String show(String value) {
            return value;
        }
    };

    /**
     * A time span: a number of seconds as PgBouncer writes them ({@code 600}, {@code 0.5}), or a
     * string with a unit ({@code "250ms"}, {@code "30s"}, {@code "5min"}, {@code "1h"}, {@code "1d"}).
     */
    public static final ValueType<Duration> DURATION = new ValueType<>() {
        @Override
        public Duration parse(Object raw) {
            String expected = "a number of seconds or a string such as \"250ms\", \"30s\", \"5min\", \"1h\"";
            BigDecimal seconds;
            if (raw instanceof Number n) {
                seconds = new BigDecimal(n.toString());
            } else if (raw instanceof String s) {
                seconds = parseWithUnit(s.trim(), expected);
            } else {
                throw new IllegalArgumentException("must be " + expected + ", got " + describe(raw));
            }
            if (seconds.signum() < 0) {
                throw new IllegalArgumentException("must not be negative, got " + describe(raw));
            }
            if (seconds.compareTo(BigDecimal.valueOf(100L * 365 * 24 * 3600)) > 0) {
                throw new IllegalArgumentException("is too large, got " + describe(raw));
            }
            long micros = seconds.movePointRight(6).setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
            return Duration.ofNanos(micros * 1000);
        }

        @Override
        public String show(Duration value) {
            long micros = value.toNanos() / 1000;
            return BigDecimal.valueOf(micros).movePointLeft(6).stripTrailingZeros().toPlainString();
        }

        @Override
        public String toml(Duration value) {
            return show(value);
        }
    };

    private static BigDecimal parseWithUnit(String s, String expected) {
        String[][] units = {{"ms", "0.001"}, {"us", "0.000001"}, {"min", "60"}, {"s", "1"}, {"h", "3600"}, {"d", "86400"}};
        String lower = s.toLowerCase(Locale.ROOT);
        BigDecimal factor = BigDecimal.ONE;
        String number = lower;
        for (String[] u : units) {
            if (lower.endsWith(u[0])) {
                number = lower.substring(0, lower.length() - u[0].length()).trim();
                factor = new BigDecimal(u[1]);
                break;
            }
        }
        try {
            return new BigDecimal(number).multiply(factor);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be " + expected + ", got " + describe(s));
        }
    }

    /** One of a fixed set of words, compared case-insensitively. */
    public static <E extends Enum<E>> ValueType<E> enumeration(Class<E> type, Function<E, String> word) {
        E[] constants = type.getEnumConstants();
        List<String> words = new ArrayList<>();
        for (E e : constants) {
            words.add(word.apply(e));
        }
        return new ValueType<>() {
            @Override
            public E parse(Object raw) {
                if (raw instanceof String s) {
                    for (E e : constants) {
                        if (word.apply(e).equalsIgnoreCase(s.trim())) {
                            return e;
                        }
                    }
                }
                throw new IllegalArgumentException("must be one of " + String.join(", ", words) + ", got " + describe(raw));
            }

            @Override
            public String show(E value) {
                return word.apply(value);
            }
        };
    }

    /** One of a fixed set of words (case-insensitive), kept as the canonical lower-case word. */
    public static ValueType<String> oneOf(String... words) {
        return new ValueType<>() {
            @Override
            public String parse(Object raw) {
                if (raw instanceof String s) {
                    for (String w : words) {
                        if (w.equalsIgnoreCase(s.trim())) {
                            return w;
                        }
                    }
                }
                throw new IllegalArgumentException("must be one of " + String.join(", ", words) + ", got " + describe(raw));
            }

            @Override
            public String show(String value) {
                return value;
            }
        };
    }

    /** A comma-separated list (a TOML array of strings is accepted too); blanks are dropped. */
    public static final ValueType<List<String>> LIST = new ValueType<>() {
        @Override
        public List<String> parse(Object raw) {
            List<String> out = new ArrayList<>();
            if (raw instanceof List<?> items) {
                for (Object item : items) {
                    if (!(item instanceof String s)) {
                        throw new IllegalArgumentException("must be a list of strings, got " + describe(item) + " in it");
                    }
                    addTrimmed(out, s);
                }
            } else if (raw instanceof String s) {
                for (String part : s.split(",")) {
                    addTrimmed(out, part);
                }
            } else {
                throw new IllegalArgumentException("must be a comma-separated string or a list of strings, got " + describe(raw));
            }
            return List.copyOf(out);
        }

        @Override
        public String show(List<String> value) {
            return String.join(",", value);
        }
    };

    private static void addTrimmed(List<String> out, String s) {
        String t = s.trim();
        if (!t.isEmpty()) {
            out.add(t);
        }
    }

    /** A file mode written in octal ("0777"); a TOML integer is read as octal digits too. */
    public static final ValueType<Integer> OCTAL_MODE = new ValueType<>() {
        @Override
        public Integer parse(Object raw) {
            String s = raw instanceof Number n ? n.toString() : raw instanceof String str ? str.trim() : null;
            if (s == null || !s.matches("0?[0-7]{1,4}") || Integer.parseInt(s, 8) > 07777) {
                throw new IllegalArgumentException("must be an octal file mode such as \"0777\", got " + describe(raw));
            }
            return Integer.parseInt(s, 8);
        }

        @Override
        public String show(Integer value) {
            return String.format("0%o", value);
        }
    };

    static long toLong(Object raw, String expected) {
        if (raw instanceof Integer || raw instanceof Long || raw instanceof Short) {
            return ((Number) raw).longValue();
        }
        if (raw instanceof java.math.BigInteger big) {
            if (big.bitLength() < 63) {
                return big.longValue();
            }
            throw new IllegalArgumentException("must be " + expected + ", got " + big);
        }
        if (raw instanceof String s) {
            try {
                return Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("must be " + expected + ", got " + describe(raw));
            }
        }
        throw new IllegalArgumentException("must be " + expected + ", got " + describe(raw));
    }

    /** A short, safe rendering of a raw value for error messages. */
    static String describe(Object raw) {
        if (raw == null) {
            return "nothing";
        }
        if (raw instanceof String s) {
            String shown = s.length() > 60 ? s.substring(0, 60) + "..." : s;
            return "\"" + shown + "\"";
        }
        if (raw instanceof List<?>) {
            return "a list";
        }
        if (raw instanceof java.util.Map<?, ?>) {
            return "a table";
        }
        return raw.toString();
    }
}
