#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

#define BAR_WIDTH 24
#define REDRAW_INTERVAL 0.1 /* seconds */

/* Writes a count compactly, "950", "12.3k", "151.2M", so the line stays short. */
static void format_count(char *buf, size_t len, double value, const char *unit)
{
    if (value >= 1e9)
        snprintf(buf, len, "%.1fG%s", value / 1e9, unit);
    else if (value >= 1e6)
        snprintf(buf, len, "%.1fM%s", value / 1e6, unit);
    else if (value >= 1e4)
        snprintf(buf, len, "%.1fk%s", value / 1e3, unit);
    else
        snprintf(buf, len, "%.0f%s", value, unit);
}

static void format_duration(char *buf, size_t len, double seconds)
{
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

static void draw(Progress *p)
{
    double elapsed = clock_seconds() - p->start_time;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char done[32], total[32], speed[32], eta[32] = "";
    format_count(done, sizeof done, (double)p->done, p->unit);
    format_count(speed, sizeof speed, rate, p->unit);

    /* \r returns to the line start; \033[K clears what a longer line left. */
    fprintf(stderr, "\r%s ", p->label);
    if (p->total > 0) {
        double fraction = (double)p->done / (double)p->total;
        if (fraction > 1) fraction = 1;
        int filled = (int)(fraction * BAR_WIDTH);
        char bar[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '-';
        bar[BAR_WIDTH] = '\0';
        format_count(total, sizeof total, (double)p->total, p->unit);
        if (rate > 0 && p->done < p->total) {
            char left[24];
            format_duration(left, sizeof left, (double)(p->total - p->done) / rate);
            snprintf(eta, sizeof eta, "  ETA %s", left);
        }
        fprintf(stderr, "[%s] %3.0f%%  %s/%s", bar, 100 * fraction, done, total);
    } else {
        fprintf(stderr, "%s", done);
    }
    fprintf(stderr, "  %s/s%s%s%s\033[K", speed, eta, p->extra[0] ? "  " : "", p->extra);
    fflush(stderr);
    p->drawn = 1;
    p->last_draw = clock_seconds();
}

void progress_begin(Progress *p, const char *label, long total)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = "";
    p->total = total;
    p->start_time = clock_seconds();
    p->last_draw = p->start_time;
    p->enabled = isatty(STDERR_FILENO);
}

void progress_update(Progress *p, long done, const char *extra_text)
{
    p->done = done;
    if (!p->enabled) return;
    snprintf(p->extra, sizeof p->extra, "%s", extra_text ? extra_text : "");
    /* Only the redraw is throttled; reading the clock costs ~20 ns. */
    if (clock_seconds() - p->last_draw >= REDRAW_INTERVAL) draw(p);
}

void progress_end(Progress *p)
{
    if (!p->enabled || !p->drawn) return;
    draw(p);
    fputc('\n', stderr);
    p->drawn = 0;
}

double progress_elapsed(const Progress *p)
{
    return clock_seconds() - p->start_time;
}
