package io.pgloom.net.epoll;

/**
 * Linux constants (x86_64 and aarch64 share these values) for the native transport. Kept in one
 * place so the only assumptions about the platform are visible at once.
 */
final class Linux {
    private Linux() {
    }

    static final int AF_UNIX = 1;
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCK_STREAM = 1;
    static final int SOCK_NONBLOCK = 04000;
    static final int SOCK_CLOEXEC = 02000000;

    static final int SOL_SOCKET = 1;
    static final int SO_REUSEADDR = 2;
    static final int SO_ERROR = 4;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int SO_KEEPALIVE = 9;
    static final int SO_REUSEPORT = 15;
    static final int SO_PEERCRED = 17;
    static final int SO_DOMAIN = 39;
    static final int IPPROTO_TCP = 6;
    static final int TCP_NODELAY = 1;
    static final int TCP_KEEPIDLE = 4;
    static final int TCP_KEEPINTVL = 5;
    static final int TCP_KEEPCNT = 6;
    static final int TCP_USER_TIMEOUT = 18;
    static final int IPPROTO_IPV6 = 41;
    static final int IPV6_V6ONLY = 26;

    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_PEEK = 0x2;
    static final int SHUT_WR = 1;

    static final int EPOLLIN = 0x1;
    static final int EPOLLOUT = 0x4;
    static final int EPOLLERR = 0x8;
    static final int EPOLLHUP = 0x10;
    static final int EPOLLRDHUP = 0x2000;
    static final int EPOLLET = 1 << 31;
    static final int EPOLL_CTL_ADD = 1;
    static final int EPOLL_CTL_DEL = 2;
    static final int EPOLL_CLOEXEC = 02000000;

    static final int F_GETFL = 3;
    static final int F_SETFL = 4;
    static final int O_NONBLOCK = 04000;
    static final int F_DUPFD_CLOEXEC = 1030;

    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int EINPROGRESS = 115;
    static final int ENOENT = 2;
    static final int EBADF = 9;
    static final int ERANGE = 34;
    /** Upper bound of a user name's length, NUL included (sysconf(_SC_LOGIN_NAME_MAX) is 256). */
    static final long LOGIN_NAME_MAX = 256;

    /** A readable text for common errno values (strerror is not thread-safe). */
    static String strerror(int errno) {
        return switch (errno) {
            case 1 -> "Operation not permitted";
            case 2 -> "No such file or directory";
            case 9 -> "Bad file descriptor";
            case 12 -> "Cannot allocate memory";
            case 13 -> "Permission denied";
            case 22 -> "Invalid argument";
            case 23 -> "Too many open files in system";
            case 24 -> "Too many open files";
            case 32 -> "Broken pipe";
            case 98 -> "Address already in use";
            case 99 -> "Cannot assign requested address";
            case 101 -> "Network is unreachable";
            case 103 -> "Software caused connection abort";
            case 104 -> "Connection reset by peer";
            case 107 -> "Transport endpoint is not connected";
            case 110 -> "Connection timed out";
            case 111 -> "Connection refused";
            case 113 -> "No route to host";
            default -> "errno " + errno;
        };
    }
}
