#include "schedule.h"

#include <math.h>
#include <string.h>

static const char *const schedule_names[] = {"constant", "step", "cosine", "plateau"};

int schedule_from_name(const char *name)
{
    for (int i = 0; i < (int)(sizeof schedule_names / sizeof schedule_names[0]); i++)
        if (!strcmp(name, schedule_names[i])) return i;
    return -1;
}

const char *schedule_name(Schedule schedule)
{
    return schedule_names[schedule];
}

void lr_schedule_init(LrSchedule *s, Schedule kind, double base_lr, int epochs, int warmup,
                      double factor, int patience)
{
    *s = (LrSchedule){.kind = kind, .base_lr = base_lr, .epochs = epochs, .warmup = warmup,
                      .factor = factor, .patience = patience, .plateau_lr = base_lr, .best = -1};
}

double lr_schedule_lr(const LrSchedule *s, int epoch)
{
    const double pi = 3.14159265358979323846;
    if (epoch < s->warmup) return s->base_lr * (epoch + 1) / (s->warmup + 1);
    const int t = epoch - s->warmup, T = s->epochs - s->warmup;
    switch (s->kind) {
    case SCHEDULE_STEP:
        /* compare t/T with 1/2 and 3/4 in whole numbers */
        if (4 * t >= 3 * T) return s->base_lr / 100;
        if (2 * t >= T) return s->base_lr / 10;
        return s->base_lr;
    case SCHEDULE_COSINE:
        return s->base_lr * 0.5 * (1 + cos(pi * t / T));
    case SCHEDULE_PLATEAU:
        return s->plateau_lr;
    case SCHEDULE_CONSTANT:
    default:
        return s->base_lr;
    }
}

void lr_schedule_observe(LrSchedule *s, int epoch, double val_accuracy)
{
    if (s->kind != SCHEDULE_PLATEAU || epoch < s->warmup) return;
    if (val_accuracy > s->best * (1 + 1e-4) || s->best < 0) {
        s->best = val_accuracy;
        s->stale = 0;
    } else if (++s->stale > s->patience) {
        s->plateau_lr *= s->factor;
        s->stale = 0;
    }
}

int epochs_within_budget(double budget, double spent, double pace, int done, int most)
{
    const double more = spent < budget && pace > 0 ? floor((budget - spent) / pace) : 0;
    return more < most - done ? done + (int)more : most;
}
