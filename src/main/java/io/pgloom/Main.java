package io.pgloom;

import io.pgloom.config.Config;
import io.pgloom.config.ConfigException;
import io.pgloom.config.General;
import io.pgloom.log.Log;
import io.pgloom.log.LogSetup;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line: {@code pgloom [options] <config>}. Parses flags, loads the configuration
 * (a bad one prints one line per problem and exits 1, without a stack trace), starts the pooler
 * and waits for it to end.
 */
public final class Main {
    private Main() {
    }

    static final String USAGE = """
            usage: pgloom [options] <config.toml | pgbouncer.ini>

              -d, --daemon       run in the background (needs pidfile and logfile); returns once it is up
              -R, --takeover     take over the sockets of a running pgloom or PgBouncer (aliases: --reboot)
              -q, --quiet        do not log to stderr
              -v, --verbose      more logging; repeat for more
                  --check        validate the configuration and auth file, then exit
                  --convert      print the TOML equivalent of a pgbouncer.ini, then exit
              -V, --version      print the version and exit
              -h, --help         print this help and exit
            """;

    /** Parsed command line. */
    record Options(Path config, boolean quiet, int verbose, boolean check, boolean convert, boolean takeover,
            boolean daemon) {
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args, System.out, System.err);
        } catch (RuntimeException e) {
            System.err.println("pgloom: internal error: " + e);
            code = 2;
        }
        if (code >= 0) {
            LogSetup.shutdown();
            System.exit(code);
        }
    }

    /** @return the exit code, or -1 when the pooler started and main should just return */
    static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("pgloom: " + e.getMessage());
            err.print(USAGE);
            return 1;
        }
        if (o == null) {
            return 0;
        }
        if (o.config() == null) {
            err.println("pgloom: no configuration file given");
            err.print(USAGE);
            return 1;
        }
        Config config;
        try {
            config = Config.load(o.config());
        } catch (ConfigException e) {
            for (String line : e.problems()) {
                err.println("pgloom: " + line);
            }
            return 1;
        }
        if (o.convert()) {
            out.print(ConfigWriter.toToml(config));
            return 0;
        }
        if (o.check()) {
            if (!validate(config, err)) {
                return 1;
            }
            out.println("pgloom: configuration " + o.config() + " is valid");
            return 0;
        }
        if (o.daemon()) {
            return Daemon.launch(args, o, config, err);
        }
        int verbose = Math.max(o.verbose(), config.get(General.VERBOSE));
        LogSetup.configure(!o.quiet(), config.get(General.LOGFILE), verbose);
        try {
            Pgloom p = o.takeover() ? Pgloom.takeOver(config) : null;
            if (p == null) {
                p = Pgloom.start(config);
            }
            return p.awaitExit();
        } catch (StartupException e) {
            Log.fatal(e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            return 1;
        }
    }

    /**
     * Loads what a start would load besides the config (auth file, TLS keys, HBA rules); prints
     * warnings and the first error to {@code err}.
     */
    static boolean validate(Config config, PrintStream err) {
        try {
            Pgloom.loadUsers(config.general());
            Pgloom.loadTls(config.general(), w -> err.println("pgloom: warning: " + w));
            Pgloom.loadHba(config.general(), w -> err.println("pgloom: warning: " + w));
            return true;
        } catch (StartupException e) {
            err.println("pgloom: " + e.getMessage());
            return false;
        }
    }

    static Options parse(String[] args) {
        Path config = null;
        boolean quiet = false;
        int verbose = 0;
        boolean check = false;
        boolean convert = false;
        boolean takeover = false;
        boolean daemon = false;
        List<String> rest = new ArrayList<>();
        for (String a : args) {
            switch (a) {
                case "-h", "--help" -> {
                    System.out.print(USAGE);
                    return null;
                }
                case "-V", "--version" -> {
                    System.out.println(Version.TEXT);
                    return null;
                }
                case "-q", "--quiet" -> quiet = true;
                case "-v", "--verbose" -> verbose++;
                case "--check", "-t" -> check = true;
                case "--convert" -> convert = true;
                case "-R", "--takeover", "--reboot" -> takeover = true;
                case "-d", "--daemon" -> daemon = true;
                default -> {
                    if (a.matches("-v+")) {
                        verbose += a.length() - 1;
                    } else if (a.startsWith("-")) {
                        throw new IllegalArgumentException("unknown option " + a);
                    } else {
                        rest.add(a);
                    }
                }
            }
        }
        if (rest.size() > 1) {
            throw new IllegalArgumentException("only one configuration file may be given");
        }
        if (!rest.isEmpty()) {
            config = Path.of(rest.get(0));
        }
        return new Options(config, quiet, verbose, check, convert, takeover, daemon);
    }
}
