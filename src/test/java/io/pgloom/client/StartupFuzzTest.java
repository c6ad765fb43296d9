package io.pgloom.client;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import io.pgloom.proto.ByteSource;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.PeerClosedException;
import io.pgloom.proto.ProtocolViolationException;
import io.pgloom.proto.StartupPacket;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes a client's first packets as {@link ClientStartup} and {@link ClientLogin} decode them:
 * untyped packets read by {@link MessageStream#readUntyped} (SSLRequest and GSSENCRequest may
 * repeat), {@link StartupPacket#parse} and the {@code options} parameter
 * ({@link StartupOptions#parse}, whose IllegalArgumentException ClientLogin turns into
 * "unsupported options startup parameter"). Nothing may allocate more than a few times
 * PostgreSQL's 10,000-byte startup packet limit, whatever the length field says.
 */
@Tag("fuzz")
@Timeout(30)
class StartupFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void startupPacket(byte[] data) {
        Fuzzing.check(data, 8L * StartupPacket.MAX_LENGTH + 64L * data.length + (256 << 10), () -> run(data),
                ProtocolViolationException.class, PeerClosedException.class);
    }

    @Test
    void mutatedCorpus() {
        Fuzzing.mutateCorpus(getClass(), "startupPacket", List.of("\0", "user\0", "database\0", "options\0", "-c ", "--",
                "\\ ", "\0\3\0\0", "\4\322\26\57", "\4\322\26\60", "\4\322\26\56", "_pq_."), this::startupPacket);
    }

    private static void run(byte[] data) throws IOException {
        int chunk = data.length == 0 ? 1 : 1 + (data[0] & 0x1f);
        MessageStream in = new MessageStream(new Source(data, chunk), 64, Integer.MAX_VALUE);
        for (int packets = 0; packets < 8; packets++) {
            StartupPacket sp = StartupPacket.parse(in.readUntyped(StartupPacket.MAX_LENGTH));
            if (sp.isSslRequest() || sp.isGssEncRequest()) {
                require(sp.parameters().isEmpty(), "a request with parameters");
                continue;
            }
            if (sp.isCancel()) {
                require(sp.parameters().isEmpty(), "a cancel with parameters");
                return;
            }
            require(sp.majorVersion() == 3, "protocol " + sp.majorVersion() + " accepted");
            for (Map.Entry<String, String> e : sp.parameters().entrySet()) {
                require(!e.getKey().isEmpty(), "an empty parameter name");
                if (e.getKey().equals("options")) {
                    try {
                        for (Map.Entry<String, String> s : StartupOptions.parse(e.getValue()).entrySet()) {
                            require(!s.getKey().isEmpty(), "an option without a name");
                        }
                    } catch (IllegalArgumentException refused) {
                        // ClientLogin: "unsupported options startup parameter: ..."
                    }
                }
            }
            return;
        }
    }

    private static final class Source implements ByteSource {
        private final byte[] data;
        private final int chunk;
        private int pos;

        Source(byte[] data, int chunk) {
            this.data = data;
            this.chunk = chunk;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos == data.length) {
                return -1;
            }
            int n = Math.min(Math.min(chunk, data.length - pos), len);
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
