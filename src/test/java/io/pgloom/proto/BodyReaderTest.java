package io.pgloom.proto;

import static io.pgloom.proto.Hex.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Reads bounded to one body: overruns are protocol violations, never index errors. */
class BodyReaderTest {

    @Test
    void readsFieldsInOrder() {
        BodyReader r = new BodyReader(bytes("ff 8001 80000002", "'hi", "00", "0102"), "test");
        assertThat(r.int8()).isEqualTo(255);
        assertThat(r.int16()).isEqualTo(0x8001);
        assertThat(r.int32()).isEqualTo(0x80000002);
        assertThat(r.cstring()).isEqualTo("hi");
        assertThat(r.remaining()).isEqualTo(2);
        assertThat(r.bytes(2)).containsExactly(1, 2);
        assertThat(r.remaining()).isZero();
        assertThat(r.bytes(0)).isEmpty();
    }

    @Test
    void overrunsAreProtocolViolationsNamingTheMessage() {
        assertThatThrownBy(() -> new BodyReader(new byte[0], "Bind").int8())
                .isInstanceOf(ProtocolViolationException.class).hasMessage("truncated Bind");
        assertThatThrownBy(() -> new BodyReader(new byte[1], "Bind").int16())
                .isInstanceOf(ProtocolViolationException.class).hasMessage("truncated Bind");
        assertThatThrownBy(() -> new BodyReader(new byte[3], "Bind").int32())
                .isInstanceOf(ProtocolViolationException.class).hasMessage("truncated Bind");
        assertThatThrownBy(() -> new BodyReader(new byte[3], "Bind").bytes(4))
                .isInstanceOf(ProtocolViolationException.class).hasMessage("truncated Bind");
        assertThatThrownBy(() -> new BodyReader(new byte[3], "Bind").bytes(-1))
                .isInstanceOf(ProtocolViolationException.class).hasMessage("invalid length in Bind");
        assertThatThrownBy(() -> new BodyReader(new byte[3], "Bind").bytes(Integer.MAX_VALUE))
                .isInstanceOf(ProtocolViolationException.class).hasMessage("truncated Bind");
        assertThatThrownBy(() -> new BodyReader(bytes("'abc"), "Query").cstring())
                .isInstanceOf(ProtocolViolationException.class).hasMessage("unterminated string in Query");
        assertThatThrownBy(() -> new BodyReader(new byte[0], "Query").cstring())
                .isInstanceOf(ProtocolViolationException.class).hasMessage("unterminated string in Query");
    }

    @Test
    void staysInsideItsSliceOfALargerArray() {
        byte[] buf = bytes("11 22 33 44", "'ab", "00", "55 66");
        BodyReader r = new BodyReader(buf, 1, 2, "slice");
        assertThat(r.int16()).isEqualTo(0x2233);
        assertThatThrownBy(r::int8).isInstanceOf(ProtocolViolationException.class);
        BodyReader s = new BodyReader(buf, 4, 2, "slice");
        assertThatThrownBy(s::cstring).as("the NUL lies outside the slice").isInstanceOf(ProtocolViolationException.class);
        BodyReader t = new BodyReader(buf, 3, 2, "slice");
        assertThatThrownBy(t::int32).isInstanceOf(ProtocolViolationException.class);
    }

    @Test
    void randomReadsOfRandomBodiesNeverThrowAnythingElse() {
        SplittableRandom random = new SplittableRandom(20260701);
        for (int round = 0; round < 20_000; round++) {
            byte[] buf = new byte[random.nextInt(24)];
            for (int i = 0; i < buf.length; i++) {
                buf[i] = (byte) (random.nextInt(4) == 0 ? 0 : random.nextInt(256));
            }
            int offset = buf.length == 0 ? 0 : random.nextInt(buf.length + 1);
            int length = random.nextInt(buf.length - offset + 1);
            BodyReader r = new BodyReader(buf, offset, length, "fuzz");
            try {
                for (int op = 0; op < 8; op++) {
                    int before = r.remaining();
                    switch (random.nextInt(5)) {
                        case 0 -> r.int8();
                        case 1 -> r.int16();
                        case 2 -> r.int32();
                        case 3 -> r.bytes(random.nextInt(-2, 10));
                        default -> r.cstring();
                    }
                    assertThat(r.remaining()).isBetween(0, before);
                }
            } catch (ProtocolViolationException expected) {
                assertThat(r.remaining()).isBetween(0, length);
            }
        }
    }
}
