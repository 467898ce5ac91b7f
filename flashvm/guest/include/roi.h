/* roi.h -- mark regions of interest for flashvm's results (docs/results.md).
 *
 *     roi_begin("render"); ... roi_end("render");     roi_mark("phase2");
 *
 * A NULL or "" name is the default region "roi" (roi_end(""): the last begun).
 * Freestanding code (bare programs, the guest kernel) writes the ROI device
 * through kseg1; a program linked with SPLASHOS (built with FLASHVM_SPLASHOS
 * defined) runs in user mode and asks SPLASHOS's kernel half; a Linux user program (under the guest OS or in process mode)
 * makes the roi system call, which the kernel (or the host) passes on.
 * Outside flashvm the system call fails with ENOSYS and nothing happens. */
#ifndef FLASHVM_ROI_H
#define FLASHVM_ROI_H
#include "flash_layout.h"

#if defined(__linux__)
static inline void roi__cmd(unsigned cmd, const char *name)
{
    unsigned len = 0;
    if (name)
        while (name[len]) len++;
    register unsigned v0 __asm__("$2") = FLASH_SYS_ROI;
    register unsigned a0 __asm__("$4") = cmd;
    register const char *a1 __asm__("$5") = name;
    register unsigned a2 __asm__("$6") = len;
    register unsigned a3 __asm__("$7");
    __asm__ volatile("syscall" : "+r"(v0), "=r"(a3) : "r"(a0), "r"(a1), "r"(a2)
                     : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
                       "$24", "$25", "hi", "lo", "memory");
    (void)a3;
}
#elif defined(FLASHVM_SPLASHOS)
void sos_roi(unsigned cmd, const char *name);      /* splashos.c: a call to the kernel half */
static inline void roi__cmd(unsigned cmd, const char *name) { sos_roi(cmd, name); }
#else
static inline void roi__cmd(unsigned cmd, const char *name)
{
    volatile unsigned *reg = (volatile unsigned *)(FLASH_KSEG1 | FLASH_ROI_BASE);
    if (name)
        for (; *name; name++)
            reg[FLASH_ROI_NAME / 4] = (unsigned char)*name;
    reg[FLASH_ROI_CMD / 4] = cmd;
}
#endif

static inline void roi_begin(const char *name) { roi__cmd(FLASH_ROI_BEGIN, name); }
static inline void roi_end(const char *name)   { roi__cmd(FLASH_ROI_END, name); }
static inline void roi_mark(const char *name)  { roi__cmd(FLASH_ROI_MARK, name); }
#endif /* FLASHVM_ROI_H */
