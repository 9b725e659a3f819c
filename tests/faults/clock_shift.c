/* A wall clock that can be stepped, for the fault suite's clock-jump fault.

   Preloaded (LD_PRELOAD) into the stack's processes, it adds an offset, read from the file
   named by CLOCK_SHIFT_FILE (whole seconds, may be negative), to CLOCK_REALTIME as seen
   through clock_gettime(), gettimeofday() and time(). CLOCK_MONOTONIC is left alone, as on a
   real machine whose clock NTP steps or a resumed VM corrects.

   Why not libfaketime: Debian's 0.9.10 makes Python 3.11's time.sleep() fail with EINVAL
   when the monotonic clock is not faked (wolfcw/libfaketime#426), and faking the monotonic
   clock too is what no real clock jump does. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static volatile long offset_seconds;
static volatile long next_read_ns;

static long monotonic_ns(void) {
  struct timespec now;
  real_clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1000000000L + now.tv_nsec;
}

/* Re-read at most every 50 ms: a step is seen by every process within that. */
static long offset(void) {
  long now = monotonic_ns();
  if (now < next_read_ns) return offset_seconds;
  next_read_ns = now + 50000000L;
  const char *path = getenv("CLOCK_SHIFT_FILE");
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return offset_seconds;
  char text[32] = {0};
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n > 0) offset_seconds = strtol(text, NULL, 10);
  return offset_seconds;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  if (!real_clock_gettime) real_clock_gettime = dlsym(RTLD_NEXT, "clock_gettime");
  int rc = real_clock_gettime(id, ts);
  if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += offset();
  return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  struct timespec now;
  (void)tz;
  if (clock_gettime(CLOCK_REALTIME, &now) != 0) return -1;
  tv->tv_sec = now.tv_sec;
  tv->tv_usec = now.tv_nsec / 1000;
  return 0;
}

time_t time(time_t *out) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (out) *out = now.tv_sec;
  return now.tv_sec;
}
