/* progress.h - what a person watching a training run sees: a progress bar
 * within each pass (images/s, ETA, running loss) and one summary line per
 * epoch. On a terminal the bar redraws in place; in a log file it prints a
 * line every 10% so that logs stay short. */
#ifndef TRAINER_PROGRESS_H
#define TRAINER_PROGRESS_H

#include <stdio.h>

typedef struct {
    FILE *out;
    char label[32];
    long total, done;
    double start, last_draw;
    double loss_sum;     /* sum of per-image losses so far */
    long loss_count;
    int tty;
    int last_decile;     /* log mode: last 10% step printed */
} progress;

/* Monotonic seconds. */
double progress_now(void);

void progress_start(progress *p, FILE *out, const char *label, long total);
/* n more images done; batch_loss is their mean loss (NAN: none, e.g. while
 * predicting). */
void progress_advance(progress *p, long n, double batch_loss);
/* Finishes the bar; returns the elapsed seconds. */
double progress_finish(progress *p);

typedef struct {
    int epoch, stage;
    double train_loss, train_acc;
    double val_loss, val_acc, val_auc;
    double lr, seconds, images_per_second;
    int improved;        /* best so far on the monitored figure */
} epoch_summary;

void progress_epoch_line(FILE *out, const epoch_summary *s);

#endif
