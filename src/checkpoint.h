/* checkpoint.h: the emotion CNN's weights as an .npz numpy can open.
 *
 * Eight float32 arrays, shaped as the layers hold them:
 *   conv1.w (C1, 1, 3, 3)   conv1.b (C1,)
 *   conv2.w (C2, C1, 3, 3)  conv2.b (C2,)
 *   fc1.w   (C2*12*12, H)   fc1.b   (H,)     rows in (C, H, W) flatten order
 *   fc2.w   (H, 7)          fc2.b   (7,)
 * The widths C1, C2 and H are read back from the shapes.
 *
 *   >>> m = np.load("runs/model.npz"); m["conv1.w"].shape
 *   (32, 1, 3, 3) */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include "network.h"

/* Writes every parameter of net (an emotion CNN) atomically. */
int checkpoint_save(const char *path, Network *net, Error *err);

/* Builds an emotion CNN with the file's widths and loads its weights.
 * A missing array, an extra dimension or a shape that does not fit the
 * others is refused with a message naming the array. config receives the
 * widths (may be NULL). */
Network *checkpoint_load(const char *path, EmotionCnnConfig *config, Error *err);

#endif
