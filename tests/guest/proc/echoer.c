/* The program pipeexec runs: prints its arguments and a few thousand lines
 * (more than one pipe buffer), exits 3. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    printf("echoer pid>1 %d argc %d\n", getpid() > 1, argc);
    for (int i = 1; i < argc; i++)
        printf("arg %d: %s\n", i, argv[i]);
    for (int i = 0; i < 3000; i++)
        printf("line %d of the echoer's output\n", i);
    return 3;
}
