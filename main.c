#include <stdio.h>
#include "lib.h"
int main(void){printf("%d\n", sq(3));return 0;}
