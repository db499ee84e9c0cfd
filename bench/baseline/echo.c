/* Lock-step TCP echo on loopback: the platform's ceiling for one-request-at-a-time protocols.
 * A client process writes 48 bytes (about a Read Tag request) and waits for the echo, for SECS
 * seconds; prints round trips per second. Build and run: bench/baseline/run.sh */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 45999;
    double secs = argc > 2 ? atof(argv[2]) : 3.0;
    int one = 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1)) {
        perror("echo: bind/listen");
        return 2;
    }
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a)) {
            perror("echo: connect");
            _exit(2);
        }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char buf[64];
        memset(buf, 1, sizeof buf);
        long n = 0;
        double t0 = now(), t = t0;
        while (t - t0 < secs) {
            if (write(c, buf, 48) != 48 || read(c, buf, sizeof buf) <= 0)
                break;
            n++;
            t = now();
        }
        printf("C echo lock-step round trips/s: %.0f\n", n / (t - t0));
        fflush(stdout);
        _exit(0);
    }
    int s = accept(ls, NULL, NULL);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[64];
    ssize_t r;
    while ((r = read(s, buf, sizeof buf)) > 0)
        if (write(s, buf, r) != r)
            break;
    waitpid(child, NULL, 0);
    return 0;
}
