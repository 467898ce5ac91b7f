/* The smallest check: stdout, stderr, argv, environment, exit status. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    printf("hello from the flashvm guest OS: argc %d", argc);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf(" HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
    fprintf(stderr, "a line on stderr\n");
    return 3;
}
