package io.pgloom.admin;

import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientServices;
import io.pgloom.log.Log;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.FrontendTag;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.SqlState;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * The admin console, database {@code pgbouncer}: simple query protocol only, one command per
 * query, PgBouncer's grammar, error texts and command tags. Admin users may run everything;
 * stats users only SHOW (and the fake SET of driver parameters). Runs on the console client's
 * thread; commands that wait block only this session.
 */
public final class AdminConsole implements ClientServices.Console {
    /** What drivers ask for on connect; answered with fixed values, SETs ignored. */
    private static final Map<String, String> FAKE_PARAMETERS = Map.of("client_encoding", "UTF-8",
            "default_transaction_isolation", "read committed", "standard_conforming_strings", "on", "datestyle", "ISO",
            "timezone", "GMT", "extra_float_digits", "1");

    private final Controls controls;
    private final ShowCommands show;

    public AdminConsole(Controls controls, ShowCommands show) {
        this.controls = controls;
        this.show = show;
    }

    @Override
    public void serve(ClientConnection client, boolean admin) throws IOException {
        try {
            loop(client, admin);
        } finally {
            controls.consoleClosed(client);
        }
    }

    private void loop(ClientConnection client, boolean admin) throws IOException {
        MessageStream in = client.consoleStream();
        while (true) {
            in.nextMessage(1 << 20);
            byte tag = in.tag();
            if (tag == FrontendTag.TERMINATE) {
                in.consume();
                client.close("client close request", false, SqlState.PROTOCOL_VIOLATION);
                return;
            }
            if (tag != FrontendTag.QUERY) {
                String msg = tag == FrontendTag.PARSE || tag == FrontendTag.BIND || tag == FrontendTag.EXECUTE
                        || tag == FrontendTag.DESCRIBE || tag == FrontendTag.SYNC || tag == FrontendTag.CLOSE
                        ? "extended query protocol not supported by admin console"
                        : "unsupported packet type for admin console: " + (tag & 0xff);
                client.close(msg, true, SqlState.PROTOCOL_VIOLATION);
                return;
            }
            BodyReader r = in.body("Query");
            String query = r.cstring();
            in.consume();
            MessageBuilder out = new MessageBuilder(1024);
            execute(query, admin, client, out);
            BackendMessages.readyForQuery(out, 'I');
            client.wire().write(out.buffer());
        }
    }

    /** Runs one command into {@code out} (without the final ReadyForQuery). */
    void execute(String query, boolean admin, ClientConnection client, MessageBuilder out) {
        if (query.isBlank()) {
            BackendMessages.emptyQueryResponse(out);
            return;
        }
        Command cmd = Command.parse(query);
        try {
            if (cmd == null) {
                throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
            }
            if (!cmd.withinLimits()) {
                throw new AdminError("bad arguments");
            }
            dispatch(cmd, query, admin, client, out);
        } catch (AdminError e) {
            Log.error(e.getMessage());
            BackendMessages.error(out, "ERROR", e.sqlState(), e.getMessage());
        }
    }

    private void dispatch(Command cmd, String query, boolean admin, ClientConnection client, MessageBuilder out)
            throws AdminError {
        String verb = cmd.verb();
        String arg = cmd.arg();
        switch (verb) {
            case "show" -> {
                if (arg == null) {
                    throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
                }
                if (FAKE_PARAMETERS.containsKey(arg)) {
                    new ResultSet("s", arg).row(FAKE_PARAMETERS.get(arg)).writeTo(out);
                } else if (arg.equals("fds")) {
                    requireAdmin(admin);
                    controls.showFds(client, out);
                } else {
                    show.show(arg, query, out);
                }
                return;
            }
            case "set" -> {
                if (cmd.value() == null) {
                    // "SET", "SET x": the words of the normal grammar, not SET key = value
                    throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
                }
                if (FAKE_PARAMETERS.containsKey(arg)) {
                    BackendMessages.notice(out, "00000", "SET ignored", null);
                    BackendMessages.commandComplete(out, "SET");
                    return;
                }
                requireAdmin(admin);
                String tag = controls.set(arg, cmd.value());
                BackendMessages.commandComplete(out, tag);
                return;
            }
            default -> {
            }
        }
        requireAdmin(admin);
        switch (verb) {
            case "pause" -> {
                logIssued("PAUSE", arg);
                controls.pause(arg);
            }
            case "resume" -> {
                logIssued("RESUME", arg);
                controls.resume(arg);
            }
            case "suspend" -> {
                noArg(cmd, query);
                logIssued("SUSPEND", null);
                controls.suspend(client);
            }
            case "disable", "enable" -> {
                if (arg == null) {
                    throw new AdminError("a database is required");
                }
                logIssued(verb.toUpperCase(java.util.Locale.ROOT), arg);
                controls.disable(arg, verb.equals("disable"));
            }
            case "kill" -> {
                logIssued("KILL", arg);
                controls.kill(arg);
            }
            case "kill_client" -> {
                if (arg == null) {
                    throw new AdminError("invalid client pointer supplied");
                }
                controls.killClient(arg);
            }
            case "reconnect" -> {
                logIssued("RECONNECT", arg);
                controls.reconnect(arg);
            }
            case "wait_close" -> {
                logIssued("WAIT_CLOSE", arg);
                controls.waitClose(arg);
            }
            case "reload" -> {
                noArg(cmd, query);
                Log.log("RELOAD command issued");
                controls.reload();
            }
            case "shutdown" -> {
                if (arg != null && !arg.equals("wait_for_servers") && !arg.equals("wait_for_clients")) {
                    throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
                }
                Log.log("SHUTDOWN" + (arg == null ? "" : " " + arg.toUpperCase(java.util.Locale.ROOT)) + " command issued");
                controls.shutdown(arg);
            }
            default -> throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
        }
        BackendMessages.commandComplete(out, verb.toUpperCase(java.util.Locale.ROOT));
    }

    private static void requireAdmin(boolean admin) throws AdminError {
        if (!admin) {
            throw new AdminError("admin access needed");
        }
    }

    private static void noArg(Command cmd, String query) throws AdminError {
        if (cmd.arg() != null) {
            throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
        }
    }

    private static void logIssued(String what, String db) {
        Log.log(what + (db == null ? "" : " '" + db + "'") + " command issued");
    }

    /** The text of SHOW HELP, as PgBouncer prints it. */
    static final List<String> HELP = List.of("SHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION",
            "SHOW PEERS|PEER_POOLS", "SHOW FDS|SOCKETS|ACTIVE_SOCKETS|LISTS|MEM|STATE", "SHOW DNS_HOSTS|DNS_ZONES",
            "SHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS", "SET key = arg", "RELOAD", "PAUSE [<db>]", "RESUME [<db>]",
            "DISABLE <db>", "ENABLE <db>", "RECONNECT [<db>]", "KILL [<db>]", "KILL_CLIENT <client_id>", "SUSPEND", "SHUTDOWN",
            "SHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS", "WAIT_CLOSE [<db>]");
}
