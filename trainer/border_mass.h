/* border_mass.h - `trainer border-mass`: how much of a model's Grad-CAM
 * heat lies in the outer border band of the image, where no lung is: a
 * measure of shortcuts (borders, shoulders, laterality markers). */
#ifndef TRAINER_BORDER_MASS_H
#define TRAINER_BORDER_MASS_H

/* The subcommand: argv[1] is "border-mass". Returns the exit status: 0, 1
 * on failure, 2 on bad usage. */
int border_mass_main(int argc, char **argv);

#endif
