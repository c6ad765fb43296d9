package io.pgloom.admin;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import io.pgloom.auth.UserList;
import io.pgloom.client.ClientRegistry;
import io.pgloom.config.Config;
import io.pgloom.net.tls.TlsReloader;
import io.pgloom.pool.Clock;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.ProtocolViolationException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the admin console's command handling: a Query body as the console loop reads it
 * ({@link BodyReader#cstring}), then {@link AdminConsole#execute} (PgBouncer's grammar in
 * {@link Command}, the permission checks, SHOW against a real but idle pooler state) once as a
 * stats user and once as an admin. The control operations are a recorder: a stats user must never
 * reach one, whatever the text. The answer must be well-framed backend messages.
 */
@Tag("fuzz")
@Timeout(30)
class ConsoleFuzzTest {
    private static final List<String> CALLS = new ArrayList<>();
    private static final AdminConsole CONSOLE;

    static {
        try {
            Path file = Files.createTempFile("console-fuzz", ".toml");
            Files.writeString(file, """
                    [pgloom]
                    admin_users = "admin"
                    stats_users = "watcher"
                    [databases]
                    app = "host=127.0.0.1 port=5432 dbname=app"
                    """);
            Config config = Config.load(file);
            Files.delete(file);
            PoolRegistry pools = new PoolRegistry(config, UserList.parse("", "userlist.txt"), Clock.SYSTEM,
                    TlsReloader.load(config.general()));
            ShowCommands show = new ShowCommands(ShowCommands.ShowSource.of(pools, new ClientRegistry(100),
                    () -> Map.of("active", true, "paused", false, "suspended", false)));
            Controls recorder = (Controls) Proxy.newProxyInstance(Controls.class.getClassLoader(),
                    new Class<?>[] {Controls.class}, (proxy, method, args) -> {
                        CALLS.add(method.getName());
                        if (method.getName().equals("showFds")) {
                            // what FdSender writes for nobody to take over
                            new ResultSet("i", "fd").writeTo((MessageBuilder) args[1]);
                        }
                        return method.getReturnType() == String.class ? "SET" : null;
                    });
            CONSOLE = new AdminConsole(recorder, show);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void command(byte[] body) {
        Fuzzing.check(body, (4 << 20) + 256L * body.length, () -> {
            String query = new BodyReader(body, "Query").cstring();
            CALLS.clear();
            MessageBuilder out = new MessageBuilder(1024);
            CONSOLE.execute(query, false, null, out);
            require(CALLS.isEmpty(), "a stats user reached " + CALLS + " with " + Fuzzing.describe(body));
            checkFraming(out);
            out.clear();
            CONSOLE.execute(query, true, null, out);
            checkFraming(out);
        }, ProtocolViolationException.class);
    }

    @Test
    void mutatedCorpus() {
        Fuzzing.mutateCorpus(getClass(), "command", List.of(" ", ";", "\"", "\"\"", "'", "''", "=", " to ", "\0", "\n",
                "show ", "set ", "pause", "kill", "kill_client", "suspend", "shutdown", "reload", "fds", "select ",
                "wait_for_servers", "\u00e9"), this::command);
    }

    /** One or more messages, each with a known backend tag and a length that ends inside the answer. */
    private static void checkFraming(MessageBuilder out) {
        byte[] b = out.array();
        int pos = 0;
        require(out.size() >= 5, "no answer");
        while (pos < out.size()) {
            require("TDCEINS".indexOf(b[pos]) >= 0, "unexpected message type " + (char) b[pos]);
            int len = MessageBuilder.getInt(b, pos + 1);
            require(len >= 4 && pos + 1 + len <= out.size(), "bad length " + len);
            pos += 1 + len;
        }
    }
}
