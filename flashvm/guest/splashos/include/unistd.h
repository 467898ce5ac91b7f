/* unistd.h for SPLASHOS programs: everything is in splashos.h */
#include "splashos.h"
