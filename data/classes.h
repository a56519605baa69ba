/* classes.h: the seven emotion classes, in FER2013's label order, and the
 * 48x48 grey input of the emotion CNN. A dataset carries its own image
 * shape and classes (Dataset in loader.h); these are FER2013's, which the
 * loader also uses to name seven unnamed classes of 48x48 grey images. */
#ifndef CLASSES_H
#define CLASSES_H

#include <stddef.h>

#define NUM_CLASSES 7
#define IMAGE_SIDE 48
#define IMAGE_PIXELS (IMAGE_SIDE * IMAGE_SIDE)

/* "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral" */
extern const char *const class_names[NUM_CLASSES];

/* The lines of class-names text, one name per line, as a checkpoint's
 * class_names and a dataset's uint8 class_names hold them: a line ends at
 * "\n", or at "\r\n" as Windows writes it (a '\r' that ends a line is not
 * part of the name), and the last line needs no end: "a\nb\n", "a\nb" and
 * "a\r\nb\r\n" all hold the two lines "a" and "b". A text that ends in an
 * empty line ("a\n\n") holds that empty line, for the caller to refuse by
 * name. Stores the first `max` lines' starts and lengths (without their
 * ends) in starts and lengths, and returns how many lines the text holds. */
int class_names_lines(const char *text, size_t len, const char **starts, size_t *lengths,
                      int max);

#endif
