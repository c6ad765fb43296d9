package io.pgloom.auth.hba;

import io.pgloom.auth.hba.AuthFileTokenizer.Line;
import io.pgloom.auth.hba.AuthFileTokenizer.Token;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An {@code auth_hba_file}: PostgreSQL's pg_hba.conf format as PgBouncer supports it. Lines are
 * {@code local DATABASE USER METHOD [OPTIONS]} and {@code host|hostssl|hostnossl DATABASE USER
 * ADDRESS METHOD [OPTIONS]}; see {@link AuthFileTokenizer} for quoting, comments, lists and
 * continuations.
 *
 * <ul>
 *   <li>DATABASE: names, {@code all}, {@code sameuser}, {@code replication} (matches only
 *       physical replication connections, which no other keyword matches), {@code @file}.
 *   <li>USER: names, {@code all}, {@code @file}. Groups ({@code +name}, {@code samerole},
 *       {@code samegroup}) are refused: pgloom has no roles to look them up in.
 *   <li>ADDRESS: {@code all}, CIDR ({@code 10.0.0.0/8}, {@code ::1/128}) or an address with
 *       its mask in the next column. {@code samehost}, {@code samenet} and host names are
 *       refused (PgBouncer has none of them).
 *   <li>METHOD: {@code trust}, {@code reject}, {@code md5}, {@code password}, {@code
 *       scram-sha-256}, {@code cert} (hostssl only), {@code peer} (local only); the methods
 *       pgloom cannot do ({@code ldap}, {@code pam}, {@code ident}, {@code gss}...) are refused.
 *   <li>OPTIONS: {@code map=NAME} (cert and peer: an {@link IdentMap} map), {@code
 *       clientcert=verify-ca|verify-full} and {@code clientname=CN|DN} (hostssl lines).
 * </ul>
 *
 * Rules are matched in file order and the first match decides; when none matches the
 * connection is rejected. Stricter than PgBouncer, which skips a bad line with a warning: any
 * bad line fails the whole file with an {@link HbaException} naming file and line, so RELOAD
 * keeps the rules in force. Immutable and thread-safe.
 */
public final class HbaFile {
    private static final Set<String> UNSUPPORTED_METHODS = Set.of("ldap", "pam", "ident", "gss", "sspi", "radius", "bsd", "oauth",
            "krb5", "crypt");

    private final String fileName;
    private final List<HbaRule> rules;

    private HbaFile(String fileName, List<HbaRule> rules) {
        this.fileName = fileName;
        this.rules = List.copyOf(rules);
    }

    /**
     * Parses pg_hba.conf text. {@code fileName} prefixes error messages and is where {@code
     * @file} references are resolved from (its directory).
     */
    public static HbaFile parse(String text, String fileName) throws HbaException {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(fileName, "fileName");
        List<HbaRule> rules = new ArrayList<>();
        for (Line line : AuthFileTokenizer.lines(text, fileName)) {
            rules.add(new LineParser(fileName, line).parse());
        }
        return new HbaFile(fileName, rules);
    }

    /** Reads and parses an HBA file (UTF-8). */
    public static HbaFile load(Path file) throws HbaException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | SecurityException e) {
            throw new HbaException(file + ": cannot read: " + e);
        }
        return parse(text, file.toString());
    }

    /** The first rule that matches, or a rejection without a rule. */
    public HbaMatch match(ConnectionInfo connection) {
        for (HbaRule r : rules) {
            if (r.matches(connection)) {
                return new HbaMatch(r.method(), r.options(), r);
            }
        }
        return HbaMatch.NO_RULE;
    }

    public List<HbaRule> rules() {
        return rules;
    }

    public String fileName() {
        return fileName;
    }

    /** The ident maps the rules name with {@code map=}, to check against the ident file. */
    public Set<String> mapNames() {
        Set<String> out = new LinkedHashSet<>();
        for (HbaRule r : rules) {
            String m = r.options().get("map");
            if (m != null) {
                out.add(m);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "HbaFile[" + fileName + ", " + rules.size() + " rules]";
    }

    // ------------------------------------------------------------------ one line

    /** Parses one logical line into a rule; every error names the file and line. */
    private static final class LineParser {
        private final String fileName;
        private final Line line;
        private final List<List<Token>> fields;
        private int next;

        LineParser(String fileName, Line line) {
            this.fileName = fileName;
            this.line = line;
            this.fields = line.fields();
        }

        private HbaException error(String problem) {
            return HbaException.at(fileName, line.number(), problem);
        }

        HbaRule parse() throws HbaException {
            HbaRule.Type type = type(single("connection type"));
            HbaRule.Names databases = names(field("end-of-line before database specification"), true);
            HbaRule.Names users = names(field("end-of-line before role specification"), false);
            HbaRule.Addresses addresses = type == HbaRule.Type.LOCAL ? HbaRule.Addresses.ALL : addresses();
            HbaMethod method = method(field("end-of-line before authentication method"));
            Map<String, String> options = options(type, method);
            return new HbaRule(fileName, line.number(), line.text(), type, databases, users, addresses, method, options);
        }

        private List<Token> field(String missing) throws HbaException {
            if (next >= fields.size()) {
                throw error(missing);
            }
            return fields.get(next++);
        }

        private Token single(String what) throws HbaException {
            List<Token> f = field("end-of-line before " + what);
            if (f.size() > 1) {
                throw error("multiple values specified for " + what);
            }
            return f.get(0);
        }

        private HbaRule.Type type(Token t) throws HbaException {
            if (!t.quoted()) {
                for (HbaRule.Type type : HbaRule.Type.values()) {
                    if (type.word().equals(t.text())) {
                        return type;
                    }
                }
                if (t.text().equals("hostgssenc") || t.text().equals("hostnogssenc")) {
                    throw error("connection type \"" + t.text() + "\" is not supported: pgloom has no GSSAPI encryption");
                }
            }
            throw error("invalid connection type \"" + t.text() + "\"");
        }

        private HbaRule.Names names(List<Token> field, boolean database) throws HbaException {
            List<Token> tokens = new ArrayList<>();
            for (Token t : field) {
                if (t.isInclude()) {
                    tokens.addAll(AuthFileTokenizer.expandInclude(t, fileName, line.number(), 1));
                } else {
                    tokens.add(t);
                }
            }
            boolean all = false;
            boolean sameUser = false;
            boolean replication = false;
            Set<String> names = new HashSet<>();
            for (Token t : tokens) {
                if (t.is("all")) {
                    all = true;
                } else if (database && t.is("sameuser")) {
                    sameUser = true;
                } else if (database && t.is("replication")) {
                    replication = true;
                } else if (database && (t.is("samerole") || t.is("samegroup"))) {
                    throw error("\"" + t.text() + "\" is not supported: pgloom has no roles or groups");
                } else if (!t.quoted() && t.text().startsWith("+")) {
                    throw error("group names (" + t.text() + ") are not supported: pgloom has no roles or groups");
                } else {
                    names.add(t.text());
                }
            }
            if (tokens.isEmpty()) {
                throw error("no " + (database ? "database" : "user") + " names in the " + (database ? "database" : "user")
                        + " column");
            }
            return new HbaRule.Names(all, sameUser, replication, names);
        }

        private HbaRule.Addresses addresses() throws HbaException {
            Token t = single("IP address");
            String s = t.text();
            if (!t.quoted()) {
                if (s.equals("all")) {
                    return HbaRule.Addresses.ALL;
                }
                if (s.equals("samehost") || s.equals("samenet")) {
                    throw error("\"" + s + "\" is not supported: write the addresses as CIDR");
                }
            }
            int slash = s.indexOf('/');
            String host = slash >= 0 ? s.substring(0, slash) : s;
            byte[] address = ipLiteral(host);
            if (address == null) {
                throw error("invalid IP address \"" + host + "\" (host names are not supported: write an address or CIDR)");
            }
            byte[] mask;
            if (slash >= 0) {
                mask = prefixMask(s.substring(slash + 1), address.length);
                if (mask == null) {
                    throw error("invalid CIDR mask in address \"" + s + "\"");
                }
            } else {
                if (next >= fields.size()) {
                    throw error("end-of-line before netmask specification (write " + s + "/" + address.length * 8
                            + " or add a mask column)");
                }
                Token m = single("netmask");
                mask = ipLiteral(m.text());
                if (mask == null) {
                    throw error("invalid IP mask \"" + m.text() + "\"");
                }
                if (mask.length != address.length) {
                    throw error("IP address and mask do not match (" + s + " " + m.text() + ")");
                }
            }
            return new HbaRule.Addresses(address, mask);
        }

        private HbaMethod method(List<Token> field) throws HbaException {
            if (field.size() > 1) {
                throw error("multiple values specified for authentication type");
            }
            Token t = field.get(0);
            HbaMethod m = t.quoted() ? null : HbaMethod.of(t.text());
            if (m != null) {
                return m;
            }
            if (!t.quoted() && UNSUPPORTED_METHODS.contains(t.text())) {
                throw error("authentication method \"" + t.text() + "\" is not supported by pgloom");
            }
            throw error("invalid authentication method \"" + t.text() + "\"");
        }

        private Map<String, String> options(HbaRule.Type type, HbaMethod method) throws HbaException {
            if (method == HbaMethod.PEER && type != HbaRule.Type.LOCAL) {
                throw error("peer authentication is only supported on local sockets");
            }
            if (method == HbaMethod.CERT && type != HbaRule.Type.HOSTSSL) {
                throw error("cert authentication is only supported on hostssl connections");
            }
            Map<String, String> options = new LinkedHashMap<>();
            while (next < fields.size()) {
                for (Token t : fields.get(next++)) {
                    int eq = t.text().indexOf('=');
                    if (eq <= 0) {
                        throw error("authentication option not in name=value format: " + t.text());
                    }
                    String name = t.text().substring(0, eq);
                    String value = t.text().substring(eq + 1);
                    checkOption(name, value, type, method);
                    options.put(name, value);
                }
            }
            return options;
        }

        private void checkOption(String name, String value, HbaRule.Type type, HbaMethod method) throws HbaException {
            switch (name) {
                case "map" -> {
                    if (method != HbaMethod.CERT && method != HbaMethod.PEER) {
                        throw error("authentication option \"map\" is only valid for authentication methods peer and cert");
                    }
                    if (value.isEmpty()) {
                        throw error("authentication option \"map\" needs a map name");
                    }
                }
                case "clientcert" -> {
                    if (type != HbaRule.Type.HOSTSSL) {
                        throw error("clientcert can only be configured for \"hostssl\" rows");
                    }
                    if (!value.equals("verify-ca") && !value.equals("verify-full")) {
                        throw error("invalid value for clientcert: \"" + value + "\" (verify-ca or verify-full)");
                    }
                    if (method == HbaMethod.CERT && !value.equals("verify-full")) {
                        throw error("clientcert only accepts \"verify-full\" when using \"cert\" authentication");
                    }
                }
                case "clientname" -> {
                    if (type != HbaRule.Type.HOSTSSL) {
                        throw error("clientname can only be configured for \"hostssl\" rows");
                    }
                    if (!value.equals("CN") && !value.equals("DN")) {
                        throw error("invalid value for clientname: \"" + value + "\" (CN or DN)");
                    }
                }
                default -> throw error("unrecognized authentication option name: \"" + name + "\"");
            }
        }
    }

    /** An IPv4 or IPv6 literal's bytes, or null for anything else (no name lookups). */
    static byte[] ipLiteral(String s) {
        if (s.isEmpty() || !(Character.digit(s.charAt(0), 16) >= 0 || s.charAt(0) == ':')) {
            return null;
        }
        try {
            return InetAddress.ofLiteral(s).getAddress();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The mask of a CIDR prefix length, or null when it is not a number in range. */
    static byte[] prefixMask(String bits, int bytes) {
        if (bits.isEmpty() || bits.length() > 3 || !bits.chars().allMatch(Character::isDigit)) {
            return null;
        }
        int n = Integer.parseInt(bits);
        if (n > bytes * 8) {
            return null;
        }
        byte[] mask = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            int b = Math.max(0, Math.min(8, n - 8 * i));
            mask[i] = (byte) (0xff << (8 - b));
        }
        return mask;
    }
}
