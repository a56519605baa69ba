#include "classes.h"

const char *const class_names[NUM_CLASSES] = {
    "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral",
};
