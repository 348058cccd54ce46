/*
 * termios2 shim for QEMU user-mode (scripts/qemu/run-aarch64 preloads it into
 * every emulated process; never shipped, never used on the board).
 *
 * qemu-user (Debian bookworm's 7.2, and upstream until late 2025) does not
 * emulate the TCGETS2/TCSETS2/TCSETSW2/TCSETSF2 ioctls: they fail with ENOSYS.
 * serialport (under tokio-serial) configures every tty with them, so under
 * qemu-user the daemon cannot open the simulated board's pty. This shim turns
 * them into the plain TCGETS/TCSETS* ioctls, which QEMU does emulate: struct
 * termios2 is struct termios followed by the input and output speeds, and the
 * speeds map to and from the Bnnn code in c_cflag. A speed without a Bnnn
 * code (BOTHER) is kept as B38400: a pty has no baud rate, and the real serial
 * port is exercised on the board and in the booted VM
 * (scripts/qemu/system-tests.sh), not here.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The kernel's (asm-generic) ioctl numbers and layouts, as on aarch64 and armv7. */
#define K_NCCS 19
struct k_termios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[K_NCCS];
};
struct k_termios2 {
    struct k_termios t;
    uint32_t c_ispeed, c_ospeed;
};
#define K_TCGETS 0x5401UL
#define K_TCSETS 0x5402UL
#define K_TCSETSW 0x5403UL
#define K_TCSETSF 0x5404UL
#define K_TCGETS2 0x802c542aUL
#define K_TCSETS2 0x402c542bUL
#define K_TCSETSW2 0x402c542cUL
#define K_TCSETSF2 0x402c542dUL
#define K_CBAUD 0x100fU
#define K_BOTHER 0x1000U
#define K_CIBAUD (K_CBAUD << 16)
#define K_B38400 0xfU

static const struct { uint32_t code, speed; } speeds[] = {
    {0x0, 0},         {0x1, 50},        {0x2, 75},        {0x3, 110},       {0x4, 134},
    {0x5, 150},       {0x6, 200},       {0x7, 300},       {0x8, 600},       {0x9, 1200},
    {0xa, 1800},      {0xb, 2400},      {0xc, 4800},      {0xd, 9600},      {0xe, 19200},
    {0xf, 38400},     {0x1001, 57600},  {0x1002, 115200}, {0x1003, 230400}, {0x1004, 460800},
    {0x1005, 500000}, {0x1006, 576000}, {0x1007, 921600}, {0x1008, 1000000},
    {0x1009, 1152000}, {0x100a, 1500000}, {0x100b, 2000000}, {0x100c, 2500000},
    {0x100d, 3000000}, {0x100e, 3500000}, {0x100f, 4000000},
};

static uint32_t code_to_speed(uint32_t code) {
    for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
        if (speeds[i].code == code) return speeds[i].speed;
    return 38400;
}

static uint32_t speed_to_code(uint32_t speed) {
    for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
        if (speeds[i].speed == speed) return speeds[i].code;
    return K_B38400;
}

typedef int (*ioctl_fn)(int, unsigned long, ...);

__attribute__((constructor)) static void forget_preload(void) { unsetenv("LD_PRELOAD"); }

int ioctl(int fd, unsigned long request, ...) {
    static ioctl_fn real;
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (!real) real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    switch (request) {
    case K_TCGETS2: {
        struct k_termios2 *t2 = arg;
        struct k_termios t;
        int r = real(fd, K_TCGETS, &t);
        if (r != 0) return r;
        memcpy(&t2->t, &t, sizeof t);
        t2->c_ospeed = code_to_speed(t.c_cflag & K_CBAUD);
        uint32_t in = (t.c_cflag & K_CIBAUD) >> 16;
        t2->c_ispeed = in ? code_to_speed(in) : t2->c_ospeed;
        return 0;
    }
    case K_TCSETS2:
    case K_TCSETSW2:
    case K_TCSETSF2: {
        const struct k_termios2 *t2 = arg;
        struct k_termios t;
        memcpy(&t, &t2->t, sizeof t);
        if ((t.c_cflag & K_CBAUD) == K_BOTHER)
            t.c_cflag = (t.c_cflag & ~K_CBAUD) | speed_to_code(t2->c_ospeed);
        if (((t.c_cflag & K_CIBAUD) >> 16) == K_BOTHER)
            t.c_cflag = (t.c_cflag & ~K_CIBAUD) | (speed_to_code(t2->c_ispeed) << 16);
        unsigned long plain = request == K_TCSETS2    ? K_TCSETS
                              : request == K_TCSETSW2 ? K_TCSETSW
                                                      : K_TCSETSF;
        return real(fd, plain, &t);
    }
    default:
        return real(fd, request, arg);
    }
}
