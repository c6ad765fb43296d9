package io.pgloom.net.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class CipherSuitesTest {
    static List<String> jdk;

    @BeforeAll
    static void jdkSuites() throws Exception {
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(null, null, null);
        jdk = Arrays.asList(c.getSupportedSSLParameters().getCipherSuites());
    }

    /** What openssl selects for {@code spec}, restricted to the suites the JDK has, as JDK names. */
    static List<String> openSslSelection(String spec) throws Exception {
        Map<String, String> byOpenSslName = CipherSuites.openSslNames(jdk);
        List<String> out = new ArrayList<>();
        for (String name : TestPki.openssl("ciphers", spec).strip().split(":")) {
            if (byOpenSslName.containsKey(name)) {
                out.add(byOpenSslName.get(name));
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"default", "secure", "compat", "legacy", "normal", "fast", "all", "insecure"})
    void pgBouncerShortcutsSelectWhatOpenSslSelects(String shortcut) throws Exception {
        List<String> ours = CipherSuites.select(shortcut, jdk).suites();
        assertThat(ours).isNotEmpty().containsExactlyInAnyOrderElementsOf(openSslSelection(CipherSuites.expand(shortcut)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"HIGH:!SHA1", "ECDHE+AESGCM:DHE+AESGCM", "HIGH:-AES128:AES128+ECDHE:!DSS", "kECDHE+aECDSA",
        "AES256+SHA384", "TLSv1.2+ECDHE", "SSLv3", "TLSv1.0", "EECDH+CHACHA20:EDH+AES256", "ALL:!DHE:!SHA256:!SHA384",
        "aRSA+AESGCM", "RSA"})
    void openSslExpressionsSelectWhatOpenSslSelects(String spec) throws Exception {
        assertThat(CipherSuites.select(spec, jdk).suites()).containsExactlyInAnyOrderElementsOf(openSslSelection(spec));
    }

    @Test
    void explicitListsKeepTheirOrderAndTakeBothNamings() {
        CipherSuites.Selection s = CipherSuites.select(
                "ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, DHE-RSA-AES256-GCM-SHA384", jdk);
        assertThat(s.suites()).containsExactly("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384");
        assertThat(s.warnings()).isEmpty();
    }

    @Test
    void prefixesMoveRemoveAndKill() {
        String a = "ECDHE-RSA-AES128-GCM-SHA256";
        String b = "ECDHE-RSA-AES256-GCM-SHA384";
        assertThat(CipherSuites.select(a + ":" + b + ":+AES128", jdk).suites())
                .containsExactly("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assertThat(CipherSuites.select(a + ":" + b + ":-" + a + ":" + a, jdk).suites())
                .containsExactly("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assertThat(CipherSuites.select(a + ":" + b + ":!" + a + ":" + a, jdk).suites())
                .containsExactly("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    }

    @Test
    void unknownNamesAreIgnoredWithAReason() {
        CipherSuites.Selection s = CipherSuites.select("ECDHE-RSA-AES128-GCM-SHA256:no-such-cipher:ECDHE-ECDSA-AES256-CCM8:@STRENGTH:"
                + "!CAMELLIA:RC4", jdk);
        assertThat(s.suites()).containsExactly("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assertThat(s.warnings()).containsExactly("'no-such-cipher' ignored: not a cipher suite or alias the JDK supports",
                "'ECDHE-ECDSA-AES256-CCM8' ignored: not a cipher suite or alias the JDK supports",
                "'@STRENGTH' ignored: the JDK has no such setting");
    }

    @Test
    void tls13SuitesComeFromTheirOwnList() {
        CipherSuites.Selection defaults = CipherSuites.selectTls13("", jdk, jdk);
        assertThat(defaults.suites()).contains("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384").allMatch(CipherSuites::isTls13);
        CipherSuites.Selection one = CipherSuites.selectTls13("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_8_SHA256", jdk, jdk);
        assertThat(one.suites()).containsExactly("TLS_CHACHA20_POLY1305_SHA256");
        assertThat(one.warnings()).containsExactly("'TLS_AES_128_CCM_8_SHA256' ignored: not a TLS 1.3 cipher suite the JDK supports");
        assertThat(CipherSuites.select("TLS_AES_128_GCM_SHA256", jdk).suites()).isEmpty(); // not a TLS 1.2 list
    }

    @Test
    void openSslNamesAsPgBouncerShowsThem() {
        assertThat(CipherSuites.openSslName("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")).isEqualTo("ECDHE-RSA-AES256-GCM-SHA384");
        assertThat(CipherSuites.openSslName("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")).isEqualTo("ECDHE-ECDSA-CHACHA20-POLY1305");
        assertThat(CipherSuites.openSslName("TLS_DHE_RSA_WITH_AES_128_CBC_SHA")).isEqualTo("DHE-RSA-AES128-SHA");
        assertThat(CipherSuites.openSslName("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")).isEqualTo("ECDHE-RSA-AES128-SHA256");
        assertThat(CipherSuites.openSslName("TLS_RSA_WITH_AES_128_GCM_SHA256")).isEqualTo("AES128-GCM-SHA256");
        assertThat(CipherSuites.openSslName("TLS_AES_256_GCM_SHA384")).isEqualTo("TLS_AES_256_GCM_SHA384");
        assertThat(CipherSuites.openSslName("TLS_EMPTY_RENEGOTIATION_INFO_SCSV")).isEqualTo("TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
    }
}
