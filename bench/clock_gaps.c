/* Reads the monotonic clock in a tight loop for a given time and prints, as JSON, how often two
 * consecutive reads were further apart than each bucket's bound: the gaps a spinning waiter sees.
 * bench/clock_gaps.py runs it beside busy processes; the wait policy's GAP (spec §2.2.1) must lie
 * above what an idle machine shows and below what a descheduled spinner shows. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const long bounds_us[] = {2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
#define NB (sizeof bounds_us / sizeof bounds_us[0])

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (!(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "usage: clock_gaps SECONDS (0 < SECONDS <= 600)\n");
        return 2;
    }
    long long over[NB] = {0}, reads = 0, max_gap = 0;
    long long start = now_ns(), last = start, end = start + (long long)(seconds * 1e9);
    for (;;) {
        long long t = now_ns(), gap = t - last;
        last = t;
        reads++;
        if (gap > max_gap) max_gap = gap;
        for (size_t i = 0; i < NB && gap > bounds_us[i] * 1000LL; i++) over[i]++;
        if (t >= end) break;
    }
    printf("{\"seconds\": %.3f, \"reads\": %lld, \"max_gap_ns\": %lld, \"over_us\": {", (last - start) / 1e9,
           reads, max_gap);
    for (size_t i = 0; i < NB; i++) printf("%s\"%ld\": %lld", i ? ", " : "", bounds_us[i], over[i]);
    printf("}}\n");
    return 0;
}
