package io.pgloom.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses the {@code options} startup parameter as PostgreSQL does: whitespace-separated
 * arguments with backslash escapes, of which pgloom understands {@code -c name=value} and
 * {@code --name=value}. Stateless.
 */
final class StartupOptions {
    private StartupOptions() {
    }

    /**
     * @return the settings in order
     * @throws IllegalArgumentException naming the first argument that is not a setting
     */
    static Map<String, String> parse(String options) {
        List<String> args = split(options);
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String setting;
            if (a.equals("-c") && i + 1 < args.size()) {
                setting = args.get(++i);
            } else if (a.startsWith("-c") && a.length() > 2) {
                setting = a.substring(2);
            } else if (a.startsWith("--") && a.length() > 2) {
                setting = a.substring(2);
            } else {
                throw new IllegalArgumentException(a);
            }
            int eq = setting.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(a);
            }
            out.put(setting.substring(0, eq).replace('-', '_'), setting.substring(eq + 1));
        }
        return out;
    }

    private static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                cur.append(s.charAt(++i));
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    out.add(cur.toString());
                    cur.setLength(0);
                    inWord = false;
                }
            } else {
                cur.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            out.add(cur.toString());
        }
        return out;
    }
}
