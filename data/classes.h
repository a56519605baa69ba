/* classes.h: the seven emotion classes, in FER2013's label order. */
#ifndef CLASSES_H
#define CLASSES_H

#define NUM_CLASSES 7
#define IMAGE_SIDE 48
#define IMAGE_PIXELS (IMAGE_SIDE * IMAGE_SIDE)

/* "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral" */
extern const char *const class_names[NUM_CLASSES];

#endif
