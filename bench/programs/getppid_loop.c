/* getppid_loop.c -- trap-exit cost benchmark for flashvm.
 *
 * usage: getppid_loop [N]      (default N = 100000)
 *
 * Makes N getppid() system calls in a tight loop (a handful of instructions
 * each besides the syscall itself).  In process mode every system call leaves
 * the JIT-compiled run loop, is served in Python and re-enters the loop, so
 * the run time divided by N is the cost of one exit to the host.  Prints
 * "getppid N sum S" where S is the sum of the returned parent pids (under
 * flashvm ppid = 999, so S = 999 * N).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    unsigned long long sum = 0;
    for (long i = 0; i < n; i++)
        sum += (unsigned)getppid();
    printf("getppid %ld sum %llu\n", n, sum);
    return 0;
}
