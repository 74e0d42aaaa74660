package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WarmUpTest {
    @Test
    void warmUpRunsEveryRequestEvenUnderAnAllowlistThatAdmitsNothing() throws Exception {
        try (GatunServer server = GatunServer.builder().allowlist(Allowlist.of(List.of())).warmUp(3_000).build().start()) {
            int made = server.warmUp().get(60, TimeUnit.SECONDS);
            assertTrue(made >= 3_000, "made " + made);
            // Its session ends with it: nothing stays registered.
            for (int i = 0; i < 200 && !server.sessions().isEmpty(); i++) {
                Thread.sleep(10);
            }
            assertTrue(server.sessions().isEmpty());
            // The list still refuses everything else to real clients.
            try (LocalClient client = LocalClient.open(server.connectionInfo()); LocalChannel ch = client.channel()) {
                assertEquals(ErrorCode.NOT_ALLOWED, ch.resolveClass("java.lang.Math").code());
            }
        }
    }

    @Test
    void noWarmUpByDefault() throws Exception {
        try (GatunServer server = GatunServer.builder().build().start()) {
            assertEquals(0, server.warmUp().get());
            assertTrue(server.sessions().isEmpty());
        }
    }
}
