package io.pgloom.net.epoll;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds and reads Linux {@code sockaddr_in}, {@code sockaddr_in6} and {@code sockaddr_un}. Stateless. */
final class SockAddr {
    private SockAddr() {
    }

    /** Enough for any address family used here (sizeof(struct sockaddr_storage)). */
    static final int STORAGE = 128;
    private static final ValueLayout.OfShort BE_SHORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int UN_PATH_MAX = 108;

    static int family(SocketAddress a) {
        if (a instanceof UnixDomainSocketAddress) {
            return Linux.AF_UNIX;
        }
        InetSocketAddress inet = (InetSocketAddress) a;
        return inet.getAddress() instanceof Inet6Address ? Linux.AF_INET6 : Linux.AF_INET;
    }

    /** Writes the address into a new segment; its byte size is the address length to pass. */
    static MemorySegment encode(Arena arena, SocketAddress a) {
        if (a instanceof UnixDomainSocketAddress u) {
            byte[] path = u.getPath().toString().getBytes(StandardCharsets.UTF_8);
            if (path.length >= UN_PATH_MAX) {
                throw new IllegalArgumentException("unix socket path too long: " + u.getPath());
            }
            MemorySegment s = arena.allocate(2 + UN_PATH_MAX);
            s.set(JAVA_SHORT, 0, (short) Linux.AF_UNIX);
            MemorySegment.copy(path, 0, s, JAVA_BYTE, 2, path.length);
            return s.asSlice(0, 2 + path.length + 1);
        }
        InetSocketAddress inet = (InetSocketAddress) a;
        InetAddress ip = inet.getAddress();
        if (ip instanceof Inet6Address v6) {
            MemorySegment s = arena.allocate(28);
            s.set(JAVA_SHORT, 0, (short) Linux.AF_INET6);
            s.set(BE_SHORT, 2, (short) inet.getPort());
            MemorySegment.copy(v6.getAddress(), 0, s, JAVA_BYTE, 8, 16);
            s.set(ValueLayout.JAVA_INT, 24, v6.getScopeId());
            return s;
        }
        MemorySegment s = arena.allocate(16);
        s.set(JAVA_SHORT, 0, (short) Linux.AF_INET);
        s.set(BE_SHORT, 2, (short) inet.getPort());
        MemorySegment.copy(ip.getAddress(), 0, s, JAVA_BYTE, 4, 4);
        return s;
    }

    /** Reads an address of {@code len} bytes; null for an unnamed unix socket. */
    static SocketAddress decode(MemorySegment s, int len) {
        if (len < 2) {
            return null;
        }
        int family = s.get(JAVA_SHORT, 0);
        try {
            switch (family) {
                case Linux.AF_INET -> {
                    byte[] ip = new byte[4];
                    MemorySegment.copy(s, JAVA_BYTE, 4, ip, 0, 4);
                    return new InetSocketAddress(Inet4Address.getByAddress(ip), Short.toUnsignedInt(s.get(BE_SHORT, 2)));
                }
                case Linux.AF_INET6 -> {
                    byte[] ip = new byte[16];
                    MemorySegment.copy(s, JAVA_BYTE, 8, ip, 0, 16);
                    InetAddress addr = InetAddress.getByAddress(ip);
                    return new InetSocketAddress(addr, Short.toUnsignedInt(s.get(BE_SHORT, 2)));
                }
                case Linux.AF_UNIX -> {
                    int pathLen = len - 2;
                    if (pathLen <= 0 || s.get(JAVA_BYTE, 2) == 0) {
                        return null;
                    }
                    byte[] path = new byte[pathLen];
                    MemorySegment.copy(s, JAVA_BYTE, 2, path, 0, pathLen);
                    int end = 0;
                    while (end < path.length && path[end] != 0) {
                        end++;
                    }
                    return UnixDomainSocketAddress.of(new String(path, 0, end, StandardCharsets.UTF_8));
                }
                default -> {
                    return null;
                }
            }
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
