package io.pgloom.net.epoll;

import static io.pgloom.Polling.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.net.Transport;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The ownership rules of a connection whose thread has left: the thread started for it again
 * becomes the owner only through {@link EpollWire#awaitIdle}, which waits out an inline pass
 * still running on another thread. Real loopback sockets and the real poller.
 */
@Timeout(30)
class EpollWireOwnershipTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @Test
    void aThreadStartedDuringAnInlinePassOwnsTheConnectionOnlyAfterThePass() throws Exception {
        Assumptions.assumeTrue(EpollTransport.available(), "epoll transport not available here");
        Transport.Acceptor acceptor = EpollTransport.get().listenTcp("127.0.0.1", 0, 8, false);
        try (Socket client = new Socket("127.0.0.1", acceptor.boundPort())) {
            EpollWire wire = (EpollWire) acceptor.accept(-1);
            CountDownLatch passStarted = new CountDownLatch(1);
            CountDownLatch releasePass = new CountDownLatch(1);
            AtomicBoolean passRunning = new AtomicBoolean();
            AtomicBoolean ownedDuringPass = new AtomicBoolean();
            AtomicBoolean owned = new AtomicBoolean();
            AtomicReference<Thread> resumed = new AtomicReference<>();
            byte[] scratch = new byte[16];

            wire.inlineReader(() -> {
                passRunning.set(true);
                try {
                    passStarted.countDown();
                    releasePass.await(DEADLINE.toSeconds(), TimeUnit.SECONDS);
                    while (wire.readNow(scratch, 0, scratch.length) > 0) {
                        // drain what the client sent
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                } finally {
                    passRunning.set(false);
                }
                return EpollWire.InlineReader.DONE;
            });
            wire.resumer(() -> resumed.set(Thread.ofVirtual().start(() -> {
                try {
                    wire.awaitIdle();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                ownedDuringPass.set(passRunning.get());
                owned.set(true);
            })));
            wire.leaveWhenIdle();
            Thread first = Thread.ofVirtual().start(() ->
                    assertThatThrownBy(wire::awaitIdle).isInstanceOf(EpollWire.ThreadLeft.class));
            first.join(DEADLINE);
            assertThat(wire.threadLeft()).as("the first owner left").isTrue();

            OutputStream out = client.getOutputStream();
            out.write(1);
            out.flush();
            assertThat(passStarted.await(DEADLINE.toSeconds(), TimeUnit.SECONDS)).as("the poller's pass ran").isTrue();

            wire.interruptRead(); // wakes the owner: with none, a new thread starts while the pass runs
            waitUntil(() -> resumed.get() != null && resumed.get().getState() == Thread.State.WAITING,
                    "a new owner thread waiting for the pass");
            assertThat(owned).as("owner while the pass runs").isFalse();

            releasePass.countDown();
            waitUntil(owned::get, "the new thread owning the connection");
            assertThat(ownedDuringPass).as("owned while the pass ran").isFalse();
            wire.close();
        } finally {
            acceptor.close();
        }
    }
}
