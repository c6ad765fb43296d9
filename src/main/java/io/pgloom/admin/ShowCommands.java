package io.pgloom.admin;

import io.pgloom.Version;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.MessageBuilder;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The SHOW commands of the admin console (all but FDS, which belongs to takeover), each with
 * PgBouncer's column names, order and types. Reads the pooler's state through {@link ShowSource};
 * never blocks.
 */
public final class ShowCommands {
    private final ShowSource source;

    public ShowCommands(ShowSource source) {
        this.source = source;
    }

    /** Writes the result of {@code SHOW <what>}; an unknown subject is an error. */
    public void show(String what, String query, MessageBuilder out) throws AdminError {
        switch (what) {
            case "help" -> {
                BackendMessages.notice(out, "00000", "Console usage", String.join("\n\t", AdminConsole.HELP));
                BackendMessages.commandComplete(out, "SHOW");
            }
            case "version" -> new ResultSet("s", "version").row(Version.TEXT).writeTo(out);
            case "state" -> {
                Map<String, Boolean> s = source.state().get();
                ResultSet rs = new ResultSet("ss", "key", "value");
                s.forEach((k, v) -> rs.row(k, v ? "yes" : "no"));
                rs.writeTo(out);
            }
            default -> throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
        }
    }

    /** Where SHOW reads the pooler's state. */
    public record ShowSource(Supplier<Map<String, Boolean>> state) {
    }
}
