/* preload_prog.c — an instrumented program that knows nothing of evodash:
 * built with -finstrument-functions only (glibc has no-op hooks), traced by
 * LD_PRELOAD=libevodash-trace.so.  No interaction markers, so each
 * top-level call becomes an interaction.  The static function checks that
 * names come from .symtab, not only from the dynamic symbols.  A forked
 * child calls middle() twice and must write its own log (EVODASH_TRACE_OUT
 * with %p), leaving the parent's alone. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static int leaf(int x)
{
    return x * 2;
}

__attribute__((noinline)) int middle(int x);
__attribute__((noinline)) int middle(int x)
{
    return leaf(x) + leaf(x + 1);
}

__attribute__((noinline)) static void child(void)
{
    exit(middle(0) + middle(1) == 8 ? 0 : 1);
}

int main(void)
{
    int s = 0, st;
    pid_t pid = fork();
    if (pid == 0)
        child();
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 2;
    for (int i = 0; i < 3; i++)
        s += middle(i);
    printf("%d\n", s);
    return s == 18 ? 0 : 1;
}
