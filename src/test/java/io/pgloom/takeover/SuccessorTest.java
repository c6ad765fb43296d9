package io.pgloom.takeover;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SuccessorTest {

    @Test
    void aPgloomSuccessorIsKnownByItsApplicationName() {
        assertThat(Successor.of(Successor.NAME)).isEqualTo(Successor.PGLOOM);
        assertThat(Successor.of(Successor.WAITS_NAME)).isEqualTo(Successor.PGLOOM_WAITS);
    }

    @Test
    void anythingElseIsTreatedAsPgBouncer() {
        assertThat(Successor.of(null)).isEqualTo(Successor.PGBOUNCER);
        assertThat(Successor.of("")).isEqualTo(Successor.PGBOUNCER);
        assertThat(Successor.of("psql")).isEqualTo(Successor.PGBOUNCER);
        assertThat(Successor.of("pgloom-takeover/3")).isEqualTo(Successor.PGBOUNCER);
    }

    @Test
    void onlyTheCurrentPgloomTakesPartialState() {
        assertThat(Successor.PGLOOM.carriesPartial()).isTrue();
        assertThat(Successor.PGLOOM_WAITS.carriesPartial()).isFalse();
        assertThat(Successor.PGBOUNCER.carriesPartial()).isFalse();
    }

    @Test
    void pgloomSuccessorsGetPgloomsColumnsAndWaitingRequests() {
        assertThat(Successor.PGLOOM.readsPgloomColumns()).isTrue();
        assertThat(Successor.PGLOOM_WAITS.readsPgloomColumns()).isTrue();
        assertThat(Successor.PGBOUNCER.readsPgloomColumns()).isFalse();
        assertThat(Successor.PGLOOM.carriesWaits()).isTrue();
        assertThat(Successor.PGLOOM_WAITS.carriesWaits()).isTrue();
        assertThat(Successor.PGBOUNCER.carriesWaits()).isFalse();
    }
}
