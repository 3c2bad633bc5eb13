/* originals.h - `trainer originals`: does a model give a full-resolution
 * original X-ray and its downscaled copy in the data set the same verdict?
 * (the copies carry their own resampling and compression artefacts; people
 * upload originals). */
#ifndef TRAINER_ORIGINALS_H
#define TRAINER_ORIGINALS_H

/* The subcommand: argv[1] is "originals". Returns the exit status: 0, 1 on
 * failure, 2 on bad usage. */
int originals_main(int argc, char **argv);

#endif
