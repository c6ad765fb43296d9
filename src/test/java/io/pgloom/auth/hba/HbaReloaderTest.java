package io.pgloom.auth.hba;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.config.AuthType;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HbaReloaderTest {
    @TempDir
    Path dir;

    private Values hba(Path hbaFile, Path identFile) {
        Values v = General.SECTION.defaults().with(General.AUTH_TYPE, AuthType.HBA).with(General.AUTH_HBA_FILE, hbaFile.toString());
        return identFile == null ? v : v.with(General.AUTH_IDENT_FILE, identFile.toString());
    }

    private static ConnectionInfo local(String user) {
        return ConnectionInfo.unix("app", user);
    }

    @Test
    void nothingIsReadWhenAuthTypeIsNotHba() throws HbaException {
        List<String> warnings = new ArrayList<>();
        HbaReloader r = HbaReloader.load(General.SECTION.defaults(), warnings);
        assertThat(r.current()).isNull();
        assertThat(r.reload(General.SECTION.defaults(), warnings)).isEmpty();
        assertThat(warnings).isEmpty();
    }

    @Test
    void startupErrorsNameTheKey() throws IOException {
        List<String> warnings = new ArrayList<>();
        Values noFile = General.SECTION.defaults().with(General.AUTH_TYPE, AuthType.HBA);
        assertThatThrownBy(() -> HbaReloader.load(noFile, warnings)).isInstanceOf(HbaException.class)
                .hasMessage("auth_hba_file: must be set when auth_type is hba");
        Path bad = Files.writeString(dir.resolve("bad.conf"), "local all all bogus\n");
        assertThatThrownBy(() -> HbaReloader.load(hba(bad, null), warnings)).isInstanceOf(HbaException.class)
                .hasMessage("auth_hba_file: " + bad + ":1: invalid authentication method \"bogus\"");
        Path good = Files.writeString(dir.resolve("good.conf"), "local all all trust\n");
        Path badIdent = Files.writeString(dir.resolve("ident.conf"), "m1 only-two\n");
        assertThatThrownBy(() -> HbaReloader.load(hba(good, badIdent), warnings)).isInstanceOf(HbaException.class)
                .hasMessageStartingWith("auth_ident_file: " + badIdent + ":1: ");
    }

    @Test
    void aBrokenFileOnReloadKeepsTheRulesInForce() throws Exception {
        Path file = Files.writeString(dir.resolve("hba.conf"), "local all all trust\n");
        List<String> warnings = new ArrayList<>();
        HbaReloader r = HbaReloader.load(hba(file, null), warnings);
        HbaReloader.Rules before = r.current();
        assertThat(before.hba().match(local("app")).method()).isEqualTo(HbaMethod.TRUST);

        Files.writeString(file, "local all all trust\nhost all all 10.0.0.0/8 bogus\n");
        assertThat(r.reload(hba(file, null), warnings)).hasValue("auth_hba_file: " + file
                + ":2: invalid authentication method \"bogus\"");
        assertThat(r.current()).isSameAs(before);

        Files.writeString(file, "local all all reject\n");
        assertThat(r.reload(hba(file, null), warnings)).isEmpty();
        assertThat(r.current().hba().match(local("app")).method()).isEqualTo(HbaMethod.REJECT);
        assertThat(r.current().hba().match(ConnectionInfo.tcp(InetAddress.getLoopbackAddress(), false, "app", "app"))
                .matched()).isFalse();
    }

    @Test
    void mapsTheIdentFileDoesNotDefineAreWarnedAbout() throws Exception {
        Path file = Files.writeString(dir.resolve("hba.conf"), "local all all peer map=known\nlocal all all peer map=unknown\n");
        List<String> warnings = new ArrayList<>();
        HbaReloader.load(hba(file, null), warnings);
        assertThat(warnings).containsExactly(
                "auth_hba_file: map \"known\" is used but auth_ident_file is not set: every login through it fails",
                "auth_hba_file: map \"unknown\" is used but auth_ident_file is not set: every login through it fails");

        Path ident = Files.writeString(dir.resolve("ident.conf"), "known root app\n");
        warnings.clear();
        HbaReloader r = HbaReloader.load(hba(file, ident), warnings);
        assertThat(warnings).containsExactly("auth_hba_file: map \"unknown\" is not defined in " + ident
                + ": every login through it fails");
        assertThat(r.current().mapAllows("known", "root", "app")).isTrue();
        assertThat(r.current().mapAllows("known", "root", "other")).isFalse();
        assertThat(r.current().mapAllows("unknown", "root", "app")).isFalse();
    }
}
