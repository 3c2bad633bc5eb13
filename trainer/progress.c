/* progress.c - progress bar and per-epoch summary lines. */
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define BAR_WIDTH 28

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, FILE *out, const char *label, long total)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->start = p->last_draw = progress_now();
    p->tty = isatty(fileno(out));
}

/* "1:02:03" or "2:03" */
static void format_duration(char *buf, size_t size, double seconds)
{
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void draw(progress *p, double now, int final)
{
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[32], spent[32], bar[BAR_WIDTH + 1];
    format_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - p->done) / rate : 0);
    format_duration(spent, sizeof spent, elapsed);
    int filled = p->total > 0 ? (int)(BAR_WIDTH * p->done / p->total) : BAR_WIDTH;
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[BAR_WIDTH] = '\0';
    fprintf(p->out, "%s%-6s [%s] %ld/%ld  %.1f img/s  %s %s", p->tty ? "\r" : "",
            p->label, bar, p->done, p->total, rate, final ? "took" : "ETA",
            final ? spent : eta);
    if (p->loss_count)
        fprintf(p->out, "  loss %.4f", p->loss_sum / (double)p->loss_count);
    fputs(p->tty && !final ? "\033[K" : "\n", p->out);
    fflush(p->out);
}

void progress_advance(progress *p, long n, double batch_loss)
{
    p->done += n;
    if (!isnan(batch_loss)) {
        p->loss_sum += batch_loss * (double)n;
        p->loss_count += n;
    }
    double now = progress_now();
    if (p->tty) {
        if (now - p->last_draw >= 0.2) {
            draw(p, now, 0);
            p->last_draw = now;
        }
        return;
    }
    int decile = p->total > 0 ? (int)(10 * p->done / p->total) : 10;
    if (decile > p->last_decile && decile < 10) {
        draw(p, now, 0);
        p->last_decile = decile;
    }
}

double progress_finish(progress *p)
{
    double now = progress_now();
    draw(p, now, 1);
    return now - p->start;
}

void progress_epoch_line(FILE *out, const epoch_summary *s)
{
    char spent[32];
    format_duration(spent, sizeof spent, s->seconds);
    fprintf(out,
            "epoch %3d (stage %d)  train loss %.4f acc %.4f | val loss %.4f "
            "acc %.4f auc %.4f | lr %.2g | %s, %.1f img/s%s\n",
            s->epoch, s->stage, s->train_loss, s->train_acc, s->val_loss,
            s->val_acc, s->val_auc, s->lr, spent, s->images_per_second,
            s->improved ? "  *best*" : "");
    fflush(out);
}
