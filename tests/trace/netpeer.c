/* netpeer.c — a process with known outgoing connections for the utillog
 * check (tests/trace/utillog.sh): a TCP connection to its own loopback
 * listener and a connected UDP socket.  Prints the listener's port and the
 * client's own port, then sleeps for argv[1] seconds. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    if (l < 0 || c < 0 || u < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(l, 1) != 0 || getsockname(l, (struct sockaddr *)&a, &len) != 0 ||
        connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("netpeer");
        return 1;
    }
    int s = accept(l, NULL, NULL);
    struct sockaddr_in d = {
        .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || connect(u, (struct sockaddr *)&d, sizeof d) != 0) {
        perror("netpeer");
        return 1;
    }
    struct sockaddr_in me;
    socklen_t mlen = sizeof me;
    if (getsockname(c, (struct sockaddr *)&me, &mlen) != 0) {
        perror("netpeer");
        return 1;
    }
    printf("%d %d\n", ntohs(a.sin_port), ntohs(me.sin_port));
    fflush(stdout);
    sleep(argc > 1 ? (unsigned)atoi(argv[1]) : 3);
    return 0;
}
