package io.pgloom.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the two config loaders with validation, as {@code Config.load} and RELOAD run them:
 * pgbouncer.ini ({@link IniConfigLoader}) and TOML ({@link TomlConfigLoader}, Jackson's TOML
 * parser underneath), each followed by {@link ConfigValidator#validate}, plus the loader choice
 * ({@link ConfigFiles#isIni}). A config that cannot be used must be a {@link ConfigException}
 * naming the problem; nothing else may come out. Inputs with {@code %include} are skipped: it
 * reads another file of the operator's choosing, which is not decoding (IniConfigLoaderTest
 * covers it).
 */
@Tag("fuzz")
@Timeout(30)
class ConfigFuzzTest {
    private static final Path FILE = Path.of("/nonexistent/fuzz.conf");

    @FuzzTest(maxDuration = "5m")
    void ini(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        if (text.contains("%include")) {
            return;
        }
        Fuzzing.check(data, (8 << 20) + 1024L * data.length, () -> {
            ConfigFiles.isIni(FILE, text);
            ConfigValidator.validate(IniConfigLoader.read(FILE, text));
        }, ConfigException.class);
    }

    @FuzzTest(maxDuration = "5m")
    void toml(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        Fuzzing.check(data, (8 << 20) + 1024L * data.length, () -> {
            ConfigFiles.isIni(FILE, text);
            ConfigValidator.validate(TomlConfigLoader.read(FILE, text));
        }, ConfigException.class);
    }

    @Test
    void mutatedIniCorpus() {
        Fuzzing.mutateCorpus(getClass(), "ini", List.of("[pgbouncer]\n", "[databases]\n", "[users]\n", "[peers]\n", "=", "\"",
                "'", ";", "\n", "host=", "port=", "pool_size=", "-1", "99999999999999999999", "1.5", "0x10", "s", "ms",
                "auth_type", "listen_port"), this::ini);
    }

    @Test
    void mutatedTomlCorpus() {
        Fuzzing.mutateCorpus(getClass(), "toml", List.of("[pgloom]\n", "[databases.", "[users.", "[peers.", "]\n", " = ", "\"",
                "'''", "[", "]", "{", "}", ",", "\n", "1e400", "-0", "99999999999999999999", "true", "1979-05-27",
                "\"\\u0000\"", "inf", "nan"), this::toml);
    }
}
