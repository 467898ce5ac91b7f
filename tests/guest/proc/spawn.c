/* posix_spawn (musl: clone with CLONE_VM|CLONE_VFORK, then execve) of the
 * program in argv[1], and of a missing one (the error comes back through a pipe). */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
extern char **environ;
int main(int argc, char **argv) {
    pid_t pid; char *av[] = {argv[1], "spawned", 0};
    int r = posix_spawn(&pid, argv[1], 0, 0, av, environ);
    int st = 0; waitpid(pid, &st, 0);
    printf("spawn %d status %d\n", r, WEXITSTATUS(st));
    r = posix_spawn(&pid, "/nonexistent", 0, 0, av, environ);
    printf("spawn missing %d\n", r);
    return 0;
}
