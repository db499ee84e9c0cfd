/* Lock-step TCP echo on loopback: the platform's ceiling for one-request-at-a-time protocols.
 *
 *   echo [SECS] [CONNS]        # client and server in one run (a fork); prints round trips/s
 *   echo serve                 # server only: prints "echo: port N" and serves until killed
 *
 * The pair binds port 0 and reads the bound port back. With CONNS = 1 (the default) a client
 * process writes 48 bytes (about a Read Tag request) and waits for the echo, for SECS seconds,
 * with blocking read/write on both sides: the floor for one connection. With CONNS > 1 both
 * sides serve every connection from one thread with epoll (as an event-driven server must):
 * each connection keeps one request in flight, and the aggregate round trips/s is printed.
 * The server's CPU time (getrusage) per round trip is printed too. Run: bench/baseline/run.sh */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ 48
#define MAXC 20000

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_self(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void nodelay(int s) {
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Serve every connection accepted on `ls` with epoll until the clients are gone (or, with
 * conns = 0, forever); returns the round trips answered. */
static long serve_epoll(int ls, int conns) {
    int ep = epoll_create1(0), open = 0, accepted = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    long n = 0;
    char buf[256];
    while (conns == 0 || accepted < conns || open > 0) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int s = accept(ls, NULL, NULL);
                if (s < 0)
                    continue;
                nodelay(s);
                struct epoll_event e = {.events = EPOLLIN, .data.fd = s};
                epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
                open++, accepted++;
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0 || write(fd, buf, r) != r) {
                close(fd);
                open--;
                continue;
            }
            n++;
        }
    }
    return n;
}

/* CONNS lock-step clients to `a` in this process, each with one request in flight, for
 * `secs`; returns the round trips completed. */
static long clients_epoll(struct sockaddr_in *a, int conns, double secs, double *elapsed) {
    static int fds[MAXC];
    int ep = epoll_create1(0);
    char buf[REQ];
    memset(buf, 1, sizeof buf);
    for (int i = 0; i < conns; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)a, sizeof *a)) {
            perror("echo: connect");
            _exit(2);
        }
        nodelay(fds[i]);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fds[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
    }
    long n = 0;
    double t0 = now(), t = t0;
    for (int i = 0; i < conns; i++)
        if (write(fds[i], buf, REQ) != REQ)
            _exit(2);
    struct epoll_event evs[256];
    while (t - t0 < secs) {
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < k; i++) {
            char in[256];
            int fd = evs[i].data.fd;
            if (read(fd, in, sizeof in) <= 0 || write(fd, buf, REQ) != REQ)
                _exit(2);
            n++;
        }
        t = now();
    }
    *elapsed = t - t0;
    for (int i = 0; i < conns; i++)
        close(fds[i]);
    return n;
}

int main(int argc, char **argv) {
    int serve_only = argc > 1 && strcmp(argv[1], "serve") == 0;
    double secs = argc > 1 && !serve_only ? atof(argv[1]) : 3.0;
    int conns = argc > 2 ? atoi(argv[2]) : 1;
    if (conns < 1 || conns > MAXC || !(secs > 0)) {
        fprintf(stderr, "usage: echo [SECS] [CONNS 1-%d] | echo serve\n", MAXC);
        return 2;
    }
    int one = 1;
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        perror("echo: bind/listen");
        return 2;
    }
    if (serve_only) {
        printf("echo: port %d\n", ntohs(a.sin_port));
        fflush(stdout);
        serve_epoll(ls, 0);
        return 0;
    }
    pid_t child = fork();
    if (child == 0) {
        double elapsed;
        long n;
        if (conns == 1) {
            int c = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(c, (struct sockaddr *)&a, sizeof a)) {
                perror("echo: connect");
                _exit(2);
            }
            nodelay(c);
            char buf[64];
            memset(buf, 1, sizeof buf);
            n = 0;
            double t0 = now(), t = t0;
            while (t - t0 < secs) {
                if (write(c, buf, REQ) != REQ || read(c, buf, sizeof buf) <= 0)
                    break;
                n++;
                t = now();
            }
            elapsed = t - t0;
            close(c);
        } else {
            n = clients_epoll(&a, conns, secs, &elapsed);
        }
        printf("C echo lock-step round trips/s: %.0f (%d connection%s", n / elapsed, conns,
               conns > 1 ? "s" : "");
        fflush(stdout);
        _exit(0);
    }
    double cpu0 = cpu_self();
    long n = 0;
    if (conns == 1) {
        int s = accept(ls, NULL, NULL);
        nodelay(s);
        char buf[64];
        ssize_t r;
        while ((r = read(s, buf, sizeof buf)) > 0 && write(s, buf, r) == r)
            n++;
    } else {
        n = serve_epoll(ls, conns);
    }
    waitpid(child, NULL, 0);
    printf("; server CPU µs per round trip: %.2f)\n", (cpu_self() - cpu0) * 1e6 / (n ? n : 1));
    return 0;
}
