package io.pgloom.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.pgloom.config.TomlText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Property tests of the codecs' round trips, on seeded random values (the seed is in every
 * failure; {@code -Dcodec.seed=N} replays one): what {@link MessageBuilder} writes,
 * {@link MessageStream} and {@link BodyReader} read back field for field, whatever the read
 * chunking; an ErrorResponse or NoticeResponse written by {@link BackendMessages} parses back
 * into the same fields ({@link ErrorFields}); and a string {@link TomlText} quotes is read back
 * as itself by the TOML parser the config loader uses (ConfigWriter writes configs with it).
 */
class CodecRoundTripTest {
    private static final int TRIES = 300;
    private static final String SPECIAL = "\"'\\=,;#[]{} ";
    private static final long SEED = Long.getLong("codec.seed", System.nanoTime());

    /** One field of a message body, as written and as expected back. */
    private sealed interface Field {
    }

    private record Int8(int v) implements Field {
    }

    private record Int16(int v) implements Field {
    }

    private record Int32(int v) implements Field {
    }

    private record CString(String v) implements Field {
    }

    private record Bytes(byte[] v) implements Field {
    }

    private record Message(byte tag, List<Field> fields) {
    }

    @Test
    void messagesComeBackFieldForFieldWhateverTheChunking() throws IOException {
        Random r = new Random(SEED);
        for (int t = 0; t < TRIES; t++) {
            List<Message> messages = new ArrayList<>();
            ByteArrayOutputStream wire = new ByteArrayOutputStream();
            for (int i = 1 + r.nextInt(6); i > 0; i--) {
                Message m = randomMessage(r);
                messages.add(m);
                wire.writeBytes(encode(m));
            }
            int chunk = 1 + r.nextInt(r.nextBoolean() ? 7 : 300);
            MessageStream in = new MessageStream(ChunkSource.exactly(wire.toByteArray(), chunk), 16, 1 << 20);
            for (Message m : messages) {
                in.nextMessage(1 << 20);
                assertThat(in.tag()).as("seed %d", SEED).isEqualTo(m.tag());
                BodyReader body = in.body("message");
                for (Field f : m.fields()) {
                    Object got = switch (f) {
                        case Int8 x -> new Int8(body.int8());
                        case Int16 x -> new Int16(body.int16());
                        case Int32 x -> new Int32(body.int32());
                        case CString x -> new CString(body.cstring());
                        case Bytes x -> new Bytes(body.bytes(x.v().length));
                    };
                    if (f instanceof Bytes b) {
                        assertThat(((Bytes) got).v()).as("seed %d", SEED).isEqualTo(b.v());
                    } else {
                        assertThat(got).as("seed %d", SEED).isEqualTo(f);
                    }
                }
                assertThat(body.remaining()).as("seed %d", SEED).isZero();
                in.consume();
            }
            assertThat(in.available()).isZero();
        }
    }

    @Test
    void errorAndNoticeFieldsComeBack() {
        Random r = new Random(SEED);
        for (int t = 0; t < TRIES; t++) {
            String severity = r.nextBoolean() ? "ERROR" : "FATAL";
            String code = randomText(r, 5, false);
            String message = randomText(r, 1 + r.nextInt(200), false);
            MessageBuilder b = new MessageBuilder();
            if (r.nextBoolean()) {
                BackendMessages.error(b, severity, code, message);
            } else {
                severity = "NOTICE";
                BackendMessages.notice(b, code, message, r.nextBoolean() ? null : randomText(r, 30, false));
            }
            byte[] msg = b.toArray();
            ErrorFields e = ErrorFields.parse(msg, 5, msg.length - 5);
            assertThat(e.severity()).as("seed %d", SEED).isEqualTo(severity);
            assertThat(e.sqlState()).as("seed %d", SEED).isEqualTo(code);
            assertThat(e.message()).as("seed %d", SEED).isEqualTo(message);
            assertThat(e.isFatal()).isEqualTo(severity.equals("FATAL"));
        }
    }

    @Test
    void tomlQuotedStringsReadBackAsThemselves() throws IOException {
        Random r = new Random(SEED);
        TomlMapper toml = new TomlMapper();
        for (int t = 0; t < TRIES; t++) {
            String s = randomText(r, r.nextInt(40), true);
            String doc = "k = " + TomlText.quote(s) + "\n" + TomlText.key(s.isEmpty() ? "x" : s) + " = 1\n";
            var tree = toml.readTree(doc);
            assertThat(tree.get("k").asText()).as("seed %d, %s", SEED, doc).isEqualTo(s);
            assertThat(tree.get(s.isEmpty() ? "x" : s)).as("seed %d, %s", SEED, doc).isNotNull();
        }
    }

    private static Message randomMessage(Random r) {
        byte tag = (byte) ('A' + r.nextInt(26));
        List<Field> fields = new ArrayList<>();
        for (int i = r.nextInt(8); i > 0; i--) {
            fields.add(switch (r.nextInt(5)) {
                case 0 -> new Int8(r.nextInt(256));
                case 1 -> new Int16(r.nextInt(1 << 16));
                case 2 -> new Int32(r.nextInt());
                case 3 -> new CString(randomText(r, r.nextInt(r.nextBoolean() ? 10 : 2000), false));
                default -> {
                    byte[] b = new byte[r.nextInt(r.nextBoolean() ? 8 : 5000)];
                    r.nextBytes(b);
                    yield new Bytes(b);
                }
            });
        }
        return new Message(tag, fields);
    }

    private static byte[] encode(Message m) {
        MessageBuilder b = new MessageBuilder(8);
        b.begin(m.tag());
        for (Field f : m.fields()) {
            switch (f) {
                case Int8 x -> b.int8(x.v());
                case Int16 x -> b.int16(x.v());
                case Int32 x -> b.int32(x.v());
                case CString x -> b.cstring(x.v());
                case Bytes x -> b.bytes(x.v());
            }
        }
        return b.end().toArray();
    }

    /**
     * Text of ASCII, Latin-1, other BMP characters and surrogate pairs; control characters
     * (except NUL, which no protocol string can hold) only when {@code controls}.
     */
    private static String randomText(Random r, int length, boolean controls) {
        StringBuilder s = new StringBuilder();
        while (s.length() < length) {
            switch (r.nextInt(6)) {
                case 0 -> s.append((char) (0x20 + r.nextInt(0x5f)));
                case 1 -> s.append(SPECIAL.charAt(r.nextInt(SPECIAL.length())));
                case 2 -> s.append((char) (0xa0 + r.nextInt(0x60)));
                case 3 -> s.append((char) (0x100 + r.nextInt(0xd000)));
                case 4 -> s.appendCodePoint(0x10000 + r.nextInt(0x1000));
                default -> s.append(controls ? (char) (1 + r.nextInt(0x1f)) : 'x');
            }
        }
        return s.toString();
    }
}
