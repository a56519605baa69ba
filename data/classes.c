#include "classes.h"

#include <string.h>

const char *const class_names[NUM_CLASSES] = {
    "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral",
};

int class_names_lines(const char *text, size_t len, const char **starts, size_t *lengths,
                      int max)
{
    const char *at = text, *end = text + len;
    int count = 0;
    while (at < end) {
        const char *newline = memchr(at, '\n', (size_t)(end - at));
        const char *line_end = newline ? newline : end;
        size_t n = (size_t)(line_end - at);
        if (n > 0 && at[n - 1] == '\r') n--;
        if (count < max) {
            starts[count] = at;
            lengths[count] = n;
        }
        count++;
        at = newline ? newline + 1 : end;
    }
    return count;
}
