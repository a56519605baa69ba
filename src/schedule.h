/* schedule.h: how the learning rate changes over the epochs.
 *
 *   constant   lr throughout
 *   step       lr, then lr/10 from half-way, lr/100 from three quarters
 *   cosine     lr (1 + cos(pi t / T)) / 2: smoothly from lr towards 0
 *   plateau    lr, multiplied by `factor` whenever the validation accuracy
 *              has not improved for more than `patience` epochs (PyTorch's
 *              ReduceLROnPlateau in mode "max": an epoch improves when its
 *              accuracy beats the best so far by more than 1e-4 of it)
 *
 * A linear warm-up of W epochs may come first: epoch e < W runs at
 * lr (e + 1) / (W + 1), so the first steps of a freshly initialised
 * network (whose gradients are largest and least reliable) are small; the
 * schedule above then runs over the remaining epochs (t = e - W, T = E - W).
 *
 *     LrSchedule s;
 *     lr_schedule_init(&s, SCHEDULE_COSINE, 0.02, epochs, 2, 0.5, 3);
 *     for (int e = 0; e < epochs; e++) {
 *         opt->lr = lr_schedule_lr(&s, e);
 *         ... train, validate ...
 *         lr_schedule_observe(&s, e, val_accuracy);
 *     } */
#ifndef SCHEDULE_H
#define SCHEDULE_H

typedef enum {
    SCHEDULE_CONSTANT,
    SCHEDULE_STEP,
    SCHEDULE_COSINE,
    SCHEDULE_PLATEAU,
} Schedule;

typedef struct {
    Schedule kind;
    double base_lr;
    int epochs;
    int warmup;      /* epochs of linear warm-up (0: none) */
    double factor;   /* plateau: the lr is multiplied by this, 0 < factor < 1 */
    int patience;    /* plateau: epochs without improvement that are tolerated */
    /* plateau's state (kept in a run's resume file) */
    double plateau_lr; /* the lr after warm-up, lowered at each plateau */
    double best;       /* best validation accuracy seen after warm-up (-1: none yet) */
    int stale;         /* epochs since it last improved */
} LrSchedule;

/* "constant", "step", "cosine", "plateau" -> the schedule, or -1. */
int schedule_from_name(const char *name);
const char *schedule_name(Schedule schedule);

void lr_schedule_init(LrSchedule *s, Schedule kind, double base_lr, int epochs, int warmup,
                      double factor, int patience);

/* The learning rate of epoch (0-based). */
double lr_schedule_lr(const LrSchedule *s, int epoch);

/* After epoch: its validation accuracy, which the plateau schedule follows. */
void lr_schedule_observe(LrSchedule *s, int epoch, double val_accuracy);

/* A time budget (train --time-budget). The learning rates of epochs 0 to W
 * (the warm-up and the schedule's first epoch, t = 0) do not depend on the
 * number of epochs E, so a run may time them and only then fix E:
 * LR_SCHEDULE_TIMED_EPOCHS(W) epochs. */
#define LR_SCHEDULE_TIMED_EPOCHS(warmup) ((warmup) + 1)

/* The epochs a run may have in all: the `done` ones, which took `spent`
 * seconds of `budget`, and as many more as fit in the rest at `pace`
 * seconds each; never fewer than done, never more than most. */
int epochs_within_budget(double budget, double spent, double pace, int done, int most);

#endif
