package io.pgloom.admin;

import io.pgloom.Version;
import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientServices;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.FrontendTag;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.SqlState;
import java.io.IOException;
import java.util.List;

/**
 * The admin console (database {@code pgbouncer}): simple query protocol only, one command per
 * query. Runs on the console client's thread.
 */
public final class AdminConsole implements ClientServices.Console {
    private final CommandHandler commands;

    public AdminConsole(CommandHandler commands) {
        this.commands = commands;
    }

    /** Executes one parsed console command into the reply being built. */
    public interface CommandHandler {
        void execute(String query, boolean admin, ClientConnection client, MessageBuilder out) throws IOException;
    }

    @Override
    public void serve(ClientConnection client, boolean admin) throws IOException {
        MessageStream in = client.consoleStream();
        while (true) {
            in.nextMessage(1 << 20);
            byte tag = in.tag();
            if (tag == FrontendTag.TERMINATE) {
                in.consume();
                return;
            }
            if (tag != FrontendTag.QUERY) {
                String msg = tag == FrontendTag.PARSE || tag == FrontendTag.BIND || tag == FrontendTag.EXECUTE
                        || tag == FrontendTag.DESCRIBE || tag == FrontendTag.SYNC
                        ? "extended query protocol not supported by admin console"
                        : "unsupported packet type for admin console: " + (tag & 0xff);
                client.close(msg, true, SqlState.PROTOCOL_VIOLATION);
                return;
            }
            BodyReader r = in.body("Query");
            String query = r.cstring();
            in.consume();
            MessageBuilder out = new MessageBuilder(1024);
            commands.execute(query, admin, client, out);
            BackendMessages.readyForQuery(out, 'I');
            client.wire().write(out.buffer());
        }
    }

    /** A minimal command set until the full console lands. */
    public static CommandHandler basic() {
        return (query, admin, client, out) -> {
            String q = query.trim().replaceAll(";\\s*$", "").trim();
            if (q.equalsIgnoreCase("SHOW VERSION")) {
                BackendMessages.rowDescription(out, List.of(new BackendMessages.Column("version", 25, -1)));
                BackendMessages.dataRow(out, List.of(Version.TEXT));
                BackendMessages.commandComplete(out, "SHOW");
            } else {
                BackendMessages.error(out, "ERROR", SqlState.PROTOCOL_VIOLATION, "invalid command '" + query + "', use SHOW HELP;");
            }
        };
    }
}
