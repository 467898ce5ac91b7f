/* exitcode.c -- exit status and atexit ordering.  Prints three lines (the
 * atexit handlers run in reverse order of registration, after main's output
 * is flushed by exit) and exits with status 42. */
#include <stdio.h>
#include <stdlib.h>

static void first(void) { puts("atexit: registered first, runs last"); }
static void second(void) { puts("atexit: registered second, runs first"); }

int main(void)
{
    atexit(first);
    atexit(second);
    printf("exiting with 42");   /* no newline: exit() must flush stdio */
    putchar('\n');
    exit(42);
}
