/* classes.h: the seven emotion classes, in FER2013's label order, and the
 * 48x48 grey input of the emotion CNN. A dataset carries its own image
 * shape and classes (Dataset in loader.h); these are FER2013's, which the
 * loader also uses to name seven unnamed classes. */
#ifndef CLASSES_H
#define CLASSES_H

#define NUM_CLASSES 7
#define IMAGE_SIDE 48
#define IMAGE_PIXELS (IMAGE_SIDE * IMAGE_SIDE)

/* "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral" */
extern const char *const class_names[NUM_CLASSES];

#endif
