/* synth.c: the synthetic faces.
 *
 * What the classes look like. Every face is an oval of skin with hair on
 * top, two eyebrows, two eyes, nostrils and a mouth; the expression is in
 * the shapes of those few features, a few pixels each:
 *
 *   Angry     brows lowered and slanted down toward the centre (a "V"),
 *             vertical frown lines between them, eyes slightly narrowed,
 *             lips pressed into a short thick line (sometimes bared teeth).
 *   Disgust   brows lowered, wrinkles across the bridge of the nose,
 *             nostrils raised, the upper lip pulled up on one side (a
 *             sneer), eyes narrowed.
 *   Fear      brows raised, straight, inner ends higher; eyes wide open
 *             (white visible around the iris); mouth open and stretched
 *             wide; sometimes forehead wrinkles.
 *   Happy     a wide smile (corners up), often open with the upper teeth
 *             showing; eyes narrowed by the cheeks; smile lines from nose
 *             to mouth corners.
 *   Sad       inner ends of the brows raised (a "^" shape), mouth corners
 *             turned down, eyes a little narrowed.
 *   Surprise  brows high and arched, eyes wide open, mouth an open "O",
 *             forehead wrinkles.
 *   Neutral   level brows, relaxed eyes, a straight closed mouth.
 *
 * How strongly a face shows its class varies (intensity 60%..100% of the
 * way from neutral), and every face also has its own resting shape, so
 * mild faces of neighbouring classes (Sad / Neutral, Fear / Surprise,
 * Angry / Disgust) overlap as they do in real photographs.
 *
 * What varies besides the expression, so that the task is learnable but
 * not trivial, and so that a linear classifier (one template per class)
 * does clearly worse than a CNN: the face's position (+-4 px), size
 * (half-width 15..19 px), shape (the oval's proportions), rotation
 * (+-12 degrees); skin, hair and background grey levels; a lighting
 * gradient across the image, contrast and brightness; blur and pixel
 * noise; and occluders: a random grey rectangle, a hand over the lower
 * face, a band of hair across the forehead, glasses or sunglasses. The
 * cues are small local shapes whose position moves with the face, which
 * a convolution (same detector everywhere) handles and a fixed template
 * per class does not.
 *
 * Drawing: each feature is a shape in face coordinates (u to the right,
 * v downward, the face's half-width is 1), mapped into the image by the
 * face's pose (translate, rotate, scale). Shapes are painted with
 * coverage-based anti-aliasing: a pixel whose centre is at signed distance
 * d (in pixels, negative inside) from the shape's edge is covered by
 * clamp(0.5 - d, 0, 1), and blended toward the shape's grey level by that
 * amount. */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "splits.h"

/* ------------------------------------------------------------ painting */

/* The image being drawn, in grey levels as doubles (rounded at the end). */
typedef struct {
    double pixel[IMAGE_SIDE * IMAGE_SIDE];
} Canvas;

typedef struct {
    double x, y;
} Point;

/* Where a face sits: image point of face coordinates (u, v) is
 * centre + scale * R(angle) (u, v). */
typedef struct {
    double centre_x, centre_y;
    double scale;          /* pixels per face unit */
    double cos_angle, sin_angle;
} Pose;

static Point to_image(const Pose *pose, double u, double v)
{
    Point p = {pose->centre_x + pose->scale * (pose->cos_angle * u - pose->sin_angle * v),
               pose->centre_y + pose->scale * (pose->sin_angle * u + pose->cos_angle * v)};
    return p;
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static void blend(Canvas *canvas, int x, int y, double coverage, double value)
{
    double *p = &canvas->pixel[y * IMAGE_SIDE + x];
    *p += coverage * (value - *p);
}

/* Pixel range [lo, hi) of a box around a shape, clipped to the image. */
static void pixel_range(double lo, double hi, int *first, int *last)
{
    *first = (int)clamp(floor(lo), 0, IMAGE_SIDE);
    *last = (int)clamp(ceil(hi) + 1, 0, IMAGE_SIDE);
}

/* A filled ellipse: centre, radii (pixels), rotation, grey level, opacity.
 * The distance to the edge uses the first-order estimate
 * d = (q - 1) / |grad q|, q = sqrt((a/rx)^2 + (b/ry)^2). */
static void paint_ellipse(Canvas *canvas, Point centre, double rx, double ry, double angle,
                          double value, double opacity)
{
    double c = cos(angle), s = sin(angle), reach = (rx > ry ? rx : ry) + 1.5;
    int x0, x1, y0, y1;
    pixel_range(centre.x - reach, centre.x + reach, &x0, &x1);
    pixel_range(centre.y - reach, centre.y + reach, &y0, &y1);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double dx = x - centre.x, dy = y - centre.y;
            double a = c * dx + s * dy, b = -s * dx + c * dy;
            double q = sqrt(a * a / (rx * rx) + b * b / (ry * ry));
            double distance;
            if (q < 1e-9) {
                distance = -(rx < ry ? rx : ry);
            } else {
                double grad = sqrt(a * a / (rx * rx * rx * rx) + b * b / (ry * ry * ry * ry)) / q;
                distance = (q - 1) / grad;
            }
            double coverage = clamp(0.5 - distance, 0, 1);
            if (coverage > 0) blend(canvas, x, y, coverage * opacity, value);
        }
}

static double segment_distance(double px, double py, Point a, Point b)
{
    double ex = b.x - a.x, ey = b.y - a.y, wx = px - a.x, wy = py - a.y;
    double length2 = ex * ex + ey * ey;
    double t = length2 > 0 ? clamp((wx * ex + wy * ey) / length2, 0, 1) : 0;
    double dx = wx - t * ex, dy = wy - t * ey;
    return sqrt(dx * dx + dy * dy);
}

/* A polyline of the given half-width (pixels), with round ends. */
static void paint_stroke(Canvas *canvas, const Point *points, int count, double half_width,
                         double value, double opacity)
{
    double lo_x = 1e9, hi_x = -1e9, lo_y = 1e9, hi_y = -1e9;
    for (int i = 0; i < count; i++) {
        lo_x = fmin(lo_x, points[i].x), hi_x = fmax(hi_x, points[i].x);
        lo_y = fmin(lo_y, points[i].y), hi_y = fmax(hi_y, points[i].y);
    }
    int x0, x1, y0, y1;
    pixel_range(lo_x - half_width - 1.5, hi_x + half_width + 1.5, &x0, &x1);
    pixel_range(lo_y - half_width - 1.5, hi_y + half_width + 1.5, &y0, &y1);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double distance = 1e9;
            for (int i = 0; i + 1 < count; i++)
                distance = fmin(distance, segment_distance(x, y, points[i], points[i + 1]));
            double coverage = clamp(0.5 - (distance - half_width), 0, 1);
            if (coverage > 0) blend(canvas, x, y, coverage * opacity, value);
        }
}

/* A filled polygon (even-odd rule); the distance is to the nearest edge. */
static void paint_polygon(Canvas *canvas, const Point *points, int count, double value,
                          double opacity)
{
    double lo_x = 1e9, hi_x = -1e9, lo_y = 1e9, hi_y = -1e9;
    for (int i = 0; i < count; i++) {
        lo_x = fmin(lo_x, points[i].x), hi_x = fmax(hi_x, points[i].x);
        lo_y = fmin(lo_y, points[i].y), hi_y = fmax(hi_y, points[i].y);
    }
    int x0, x1, y0, y1;
    pixel_range(lo_x - 1.5, hi_x + 1.5, &x0, &x1);
    pixel_range(lo_y - 1.5, hi_y + 1.5, &y0, &y1);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double distance = 1e9;
            int inside = 0;
            for (int i = 0, j = count - 1; i < count; j = i++) {
                Point a = points[j], b = points[i];
                distance = fmin(distance, segment_distance(x, y, a, b));
                if ((a.y > y) != (b.y > y) && x < a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y))
                    inside = !inside;
            }
            double coverage = clamp(0.5 + (inside ? distance : -distance), 0, 1);
            if (coverage > 0) blend(canvas, x, y, coverage * opacity, value);
        }
}

/* ------------------------------------------------ shapes in face coordinates */

#define CURVE_POINTS 9
#define MAX_POINTS (2 * CURVE_POINTS)

/* A quadratic Bezier from (u0, v0) to (u1, v1) bulging toward control
 * point (uc, vc), mapped into the image. */
static void bezier(const Pose *pose, double u0, double v0, double uc, double vc, double u1,
                   double v1, Point *points)
{
    for (int i = 0; i < CURVE_POINTS; i++) {
        double t = (double)i / (CURVE_POINTS - 1), a = (1 - t) * (1 - t), b = 2 * t * (1 - t),
               c = t * t;
        points[i] = to_image(pose, a * u0 + b * uc + c * u1, a * v0 + b * vc + c * v1);
    }
}

static void face_stroke(Canvas *canvas, const Pose *pose, double u0, double v0, double uc,
                        double vc, double u1, double v1, double half_width, double value,
                        double opacity)
{
    Point points[CURVE_POINTS];
    bezier(pose, u0, v0, uc, vc, u1, v1, points);
    paint_stroke(canvas, points, CURVE_POINTS, half_width * pose->scale, value, opacity);
}

static void face_ellipse(Canvas *canvas, const Pose *pose, double u, double v, double ru,
                         double rv, double angle, double value, double opacity)
{
    paint_ellipse(canvas, to_image(pose, u, v), ru * pose->scale, rv * pose->scale,
                  angle + atan2(pose->sin_angle, pose->cos_angle), value, opacity);
}

/* ---------------------------------------------------------- expressions */

/* The features' shapes, in face units (face half-width = 1). */
typedef struct {
    double brow_raise;   /* brows above their resting height */
    double brow_tilt;    /* inner ends below the outer ends (< 0: inner ends raised) */
    double brow_arch;    /* middle of each brow above its ends */
    double brow_inner;   /* inner ends' distance from the midline */
    double eye_open;     /* half-height of the eye opening */
    double mouth_width;  /* half-width of the mouth */
    double mouth_curve;  /* corners above the middle (smile > 0, frown < 0) */
    double mouth_top;    /* opening above the lip line (0: closed) */
    double mouth_bottom; /* opening below the lip line */
    double lip_press;    /* extra thickness of a pressed lip line */
    double sneer;        /* one-sided raise of the upper lip */
} Expression;

/* The fully expressed face of each class; a face at intensity t lies
 * t of the way from neutral to it. Rows in FER2013 order. */
static const Expression class_expression[NUM_CLASSES] = {
    /* raise  tilt  arch inner   eye  width curve   top bottom press sneer */
    {-0.08, 0.20, 0.00, 0.08, 0.055, 0.20, -0.04, 0.00, 0.00, 0.040, 0.00}, /* Angry */
    {-0.06, 0.08, 0.01, 0.11, 0.045, 0.26, -0.06, 0.00, 0.02, 0.010, 0.14}, /* Disgust */
    { 0.10, -0.12, 0.00, 0.09, 0.140, 0.38, -0.05, 0.04, 0.07, 0.000, 0.00}, /* Fear */
    { 0.02, 0.00, 0.04, 0.13, 0.035, 0.38, 0.20, 0.00, 0.00, 0.000, 0.00}, /* Happy */
    { 0.02, -0.20, -0.02, 0.12, 0.055, 0.26, -0.16, 0.00, 0.00, 0.010, 0.00}, /* Sad */
    { 0.16, 0.00, 0.10, 0.13, 0.150, 0.15, 0.00, 0.14, 0.18, 0.000, 0.00}, /* Surprise */
    { 0.00, 0.00, 0.03, 0.13, 0.075, 0.27, 0.00, 0.00, 0.00, 0.000, 0.00}, /* Neutral */
};

enum { ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL };

/* The expression of one face: its class's shape at a random intensity,
 * plus the face's own resting differences (no two neutral faces alike). */
static Expression random_expression(int label, Rng *rng)
{
    const Expression *neutral = &class_expression[NEUTRAL], *target = &class_expression[label];
    double intensity = rng_range(rng, 0.6, 1.0);
    Expression e;
    /* field = neutral + intensity (target - neutral) + spread * N(0, 1): the
     * class's shape at this intensity, plus this face's resting difference. */
#define MIX(field, spread) \
    e.field = neutral->field + intensity * (target->field - neutral->field) + \
              (spread) * rng_normal(rng)
    MIX(brow_raise, 0.035);
    MIX(brow_tilt, 0.03);
    MIX(brow_arch, 0.015);
    MIX(brow_inner, 0.015);
    MIX(eye_open, 0.012);
    MIX(mouth_width, 0.03);
    MIX(mouth_curve, 0.025);
    MIX(mouth_top, 0.005);
    MIX(mouth_bottom, 0.005);
    MIX(lip_press, 0.005);
    MIX(sneer, 0.01);
#undef MIX
    e.eye_open = fmax(e.eye_open, 0.02);
    e.mouth_width = fmax(e.mouth_width, 0.1);
    e.mouth_top = fmax(e.mouth_top, 0);
    e.mouth_bottom = fmax(e.mouth_bottom, 0);
    e.lip_press = fmax(e.lip_press, 0);
    e.sneer = fmax(e.sneer, 0);
    /* Two ways of showing some classes: a grin shows the upper teeth, an
     * angry face sometimes bares them. */
    if (label == HAPPY && rng_uniform(rng) < 0.5) {
        e.mouth_top = 0.015;
        e.mouth_bottom = 0.09 * intensity;
    }
    if (label == ANGRY && rng_uniform(rng) < 0.25) {
        e.mouth_width = 0.24;
        e.mouth_top = 0.04;
        e.mouth_bottom = 0.05;
    }
    return e;
}

/* ---------------------------------------------------------------- a face */

/* Grey levels of one face's parts. */
typedef struct {
    double skin, hair, dark, lip, mouth_inside, teeth, white;
} Palette;

static Palette random_palette(Rng *rng)
{
    Palette p;
    p.skin = rng_range(rng, 95, 215);
    p.hair = rng_uniform(rng) < 0.75 ? rng_range(rng, 10, 80) : rng_range(rng, 120, 220);
    p.dark = p.skin * rng_range(rng, 0.22, 0.45);
    p.lip = p.skin * rng_range(rng, 0.55, 0.75);
    p.mouth_inside = p.skin * rng_range(rng, 0.1, 0.25);
    p.teeth = fmin(250, p.skin * 1.1 + 30);
    p.white = fmin(250, p.skin * 1.1 + 35);
    return p;
}

static void draw_brows(Canvas *canvas, const Pose *pose, const Expression *e, const Palette *p,
                       double thickness)
{
    double rest = -0.46 - e->brow_raise, outer = 0.6;
    for (int side = -1; side <= 1; side += 2) {
        double inner_v = rest + e->brow_tilt / 2, outer_v = rest - e->brow_tilt / 2;
        double mid_u = side * (e->brow_inner + outer) / 2;
        double mid_v = (inner_v + outer_v) / 2 - 2 * e->brow_arch;
        face_stroke(canvas, pose, side * e->brow_inner, inner_v, mid_u, mid_v, side * outer,
                    outer_v, thickness, fmin(p->dark, p->hair + 20), 1.0);
    }
}

static void draw_eyes(Canvas *canvas, const Pose *pose, const Expression *e, const Palette *p,
                      double gaze)
{
    double eye_v = -0.16, eye_u = 0.36, half_width = 0.17;
    for (int side = -1; side <= 1; side += 2) {
        double u = side * eye_u;
        face_ellipse(canvas, pose, u, eye_v, half_width, e->eye_open, 0, p->white, 0.9);
        double iris = fmin(0.08, e->eye_open * 1.05);
        face_ellipse(canvas, pose, u + gaze, eye_v, 0.075, iris, 0, p->dark * 0.6, 1.0);
        /* Upper lid: the top half of the opening's outline. */
        face_stroke(canvas, pose, u - half_width, eye_v, u, eye_v - 2 * e->eye_open,
                    u + half_width, eye_v, 0.03, p->dark, 1.0);
    }
}

static void draw_nose(Canvas *canvas, const Pose *pose, const Palette *p, double raise,
                      int wrinkles)
{
    double v = 0.3 - raise;
    for (int side = -1; side <= 1; side += 2)
        face_ellipse(canvas, pose, side * 0.09, v, 0.045, 0.03, 0, p->dark, 0.8);
    face_stroke(canvas, pose, 0.05, -0.05, 0.08, 0.1, 0.1, 0.2, 0.02, p->skin * 0.75, 0.6);
    for (int i = 0; i < wrinkles; i++) {
        double wv = -0.02 + 0.07 * i;
        face_stroke(canvas, pose, -0.1, wv, 0, wv - 0.03, 0.1, wv, 0.02, p->dark, 0.8);
    }
}

/* Mouth: the lip line is the parabola v = centre - curve (u/w)^2, u in
 * [-w, w]; an open mouth is the region between top and bottom outlines
 * lying `top` above and `bottom` below that line, tapering to the
 * corners like an ellipse. A sneer lifts the upper outline on one side. */
static void draw_mouth(Canvas *canvas, const Pose *pose, const Expression *e, const Palette *p,
                       int sneer_side)
{
    const double centre = 0.6;
    double w = e->mouth_width;
    Point outline[MAX_POINTS], line[CURVE_POINTS];
    double open = e->mouth_top + e->mouth_bottom;
    for (int i = 0; i < CURVE_POINTS; i++) {
        double t = (double)i / (CURVE_POINTS - 1), u = w * (2 * t - 1);
        double lip = centre - e->mouth_curve * (u / w) * (u / w);
        double taper = sqrt(fmax(0, 1 - (u / w) * (u / w)));
        double lift = e->sneer * fmax(0, sneer_side * u / w);
        outline[i] = to_image(pose, u, lip - e->mouth_top * taper - lift);
        outline[2 * CURVE_POINTS - 1 - i] = to_image(pose, u, lip + e->mouth_bottom * taper);
        line[i] = to_image(pose, u, lip - lift);
    }
    if (open > 0.02) {
        paint_polygon(canvas, outline, 2 * CURVE_POINTS, p->mouth_inside, 1.0);
        if (e->mouth_top < 0.05 && e->mouth_bottom > 0.04) {
            /* Upper teeth: a light band along the top outline. */
            Point teeth[MAX_POINTS];
            for (int i = 0; i < CURVE_POINTS; i++) {
                teeth[i] = outline[i];
                Point below = outline[2 * CURVE_POINTS - 1 - i];
                teeth[2 * CURVE_POINTS - 1 - i].x = outline[i].x + 0.4 * (below.x - outline[i].x);
                teeth[2 * CURVE_POINTS - 1 - i].y = outline[i].y + 0.4 * (below.y - outline[i].y);
            }
            paint_polygon(canvas, teeth, 2 * CURVE_POINTS, p->teeth, 0.9);
        }
        paint_stroke(canvas, outline, CURVE_POINTS, 0.03 * pose->scale, p->lip, 1.0);
        paint_stroke(canvas, outline + CURVE_POINTS, CURVE_POINTS, 0.04 * pose->scale, p->lip, 1.0);
    } else {
        paint_stroke(canvas, line, CURVE_POINTS, (0.04 + e->lip_press) * pose->scale, p->dark,
                     1.0);
        if (e->sneer > 0.03) /* the raised upper lip leaves a dark gap */
            paint_stroke(canvas, outline, CURVE_POINTS, 0.025 * pose->scale, p->dark, 0.8);
    }
}

/* Wrinkles and folds that go with some expressions. */
static void draw_lines(Canvas *canvas, const Pose *pose, int label, const Expression *e,
                       const Palette *p, Rng *rng)
{
    double faint = rng_range(rng, 0.35, 0.7);
    double brow_v = -0.46 - e->brow_raise;
    if ((label == SURPRISE || label == FEAR) && rng_uniform(rng) < (label == SURPRISE ? 0.7 : 0.4))
        for (int i = 1; i <= 2; i++) {
            double v = brow_v - 0.13 * i;
            face_stroke(canvas, pose, -0.35, v, 0, v - 0.05, 0.35, v, 0.02, p->dark, faint);
        }
    if (label == ANGRY && rng_uniform(rng) < 0.7)
        for (int side = -1; side <= 1; side += 2)
            face_stroke(canvas, pose, side * 0.05, brow_v + 0.02, side * 0.055, brow_v + 0.08,
                        side * 0.05, brow_v + 0.16, 0.02, p->dark, faint);
    if (label == HAPPY && rng_uniform(rng) < 0.6)
        for (int side = -1; side <= 1; side += 2) {
            double corner = side * (e->mouth_width + 0.05);
            face_stroke(canvas, pose, side * 0.2, 0.28, side * 0.33, 0.4, corner, 0.58, 0.02,
                        p->dark, faint);
        }
}

/* Things in front of the face: the occluders of real photographs. */
static void draw_occluders(Canvas *canvas, const Pose *pose, const Palette *p, Rng *rng)
{
    if (rng_uniform(rng) < 0.2) { /* a random grey patch (random erasing) */
        int w = 6 + (int)rng_below(rng, 11), h = 6 + (int)rng_below(rng, 11);
        int x0 = (int)rng_below(rng, IMAGE_SIDE - w + 1), y0 = (int)rng_below(rng, IMAGE_SIDE - h + 1);
        double value = rng_range(rng, 0, 255);
        for (int y = y0; y < y0 + h; y++)
            for (int x = x0; x < x0 + w; x++) blend(canvas, x, y, 1.0, value);
    }
    if (rng_uniform(rng) < 0.12) { /* a hand over a cheek or the chin */
        double u = rng_range(rng, -0.8, 0.8), v = rng_range(rng, 0.4, 1.1);
        face_ellipse(canvas, pose, u, v, rng_range(rng, 0.35, 0.5), rng_range(rng, 0.45, 0.65),
                     rng_range(rng, -0.6, 0.6), fmin(250, p->skin * rng_range(rng, 0.9, 1.15)),
                     1.0);
    }
    if (rng_uniform(rng) < 0.12) { /* a band of hair across the forehead */
        double side = rng_uniform(rng) < 0.5 ? -1 : 1;
        face_stroke(canvas, pose, -side * 0.9, -0.85, 0, -0.55, side * rng_range(rng, 0.3, 0.9),
                    rng_range(rng, -0.45, -0.2), rng_range(rng, 0.08, 0.16), p->hair, 1.0);
    }
    double glasses = rng_uniform(rng);
    if (glasses < 0.06) { /* glasses: rings around the eyes and a bridge */
        for (int side = -1; side <= 1; side += 2) {
            Point ring[CURVE_POINTS * 2 + 1];
            for (int i = 0; i <= 2 * CURVE_POINTS; i++) {
                double a = 2 * M_PI * i / (2 * CURVE_POINTS);
                ring[i] = to_image(pose, side * 0.36 + 0.25 * cos(a), -0.16 + 0.17 * sin(a));
            }
            paint_stroke(canvas, ring, 2 * CURVE_POINTS + 1, 0.025 * pose->scale, p->dark, 1.0);
        }
        face_stroke(canvas, pose, -0.11, -0.18, 0, -0.22, 0.11, -0.18, 0.025, p->dark, 1.0);
    } else if (glasses < 0.09) { /* sunglasses hide the eyes */
        for (int side = -1; side <= 1; side += 2)
            face_ellipse(canvas, pose, side * 0.36, -0.15, 0.26, 0.17, 0, p->dark * 0.5, 1.0);
    }
}

/* Approximately standard normal noise from one 64-bit draw: the sum of
 * four 16-bit uniforms (mean 2, variance 4/12) rescaled. Pixel noise need
 * not be exactly Gaussian, and this is ~20x cheaper than Box-Muller's
 * log, sqrt and cos for each of the 2,304 pixels. */
static double pixel_noise(Rng *rng)
{
    uint64_t r = rng_next(rng);
    double sum = (double)(r & 0xFFFF) + (double)((r >> 16) & 0xFFFF) +
                 (double)((r >> 32) & 0xFFFF) + (double)(r >> 48);
    return (sum / 65536.0 - 2.0) * 1.7320508075688772; /* sqrt(3) */
}

/* Lighting, blur and noise over the whole image, then rounding to bytes. */
static void finish(Canvas *canvas, Rng *rng, uint8_t *image)
{
    double slope = rng_range(rng, 0, 2.2), direction = rng_range(rng, 0, 2 * M_PI);
    double gx = slope * cos(direction), gy = slope * sin(direction);
    double contrast = rng_range(rng, 0.7, 1.2), brightness = rng_range(rng, -25, 25);
    double noise = rng_range(rng, 2, 8);
    int blur = rng_uniform(rng) < 0.3;
    Canvas lit;
    for (int y = 0; y < IMAGE_SIDE; y++)
        for (int x = 0; x < IMAGE_SIDE; x++) {
            double v = canvas->pixel[y * IMAGE_SIDE + x];
            v = (v - 128) * contrast + 128 + brightness + gx * (x - 23.5) + gy * (y - 23.5);
            lit.pixel[y * IMAGE_SIDE + x] = v;
        }
    if (blur) { /* 3x3 binomial blur (1 2 1 / 4 in each direction), edges replicated */
        static const double k[3] = {0.25, 0.5, 0.25};
        Canvas rows;
        for (int y = 0; y < IMAGE_SIDE; y++)
            for (int x = 0; x < IMAGE_SIDE; x++) {
                double sum = 0;
                for (int d = -1; d <= 1; d++)
                    sum += k[d + 1] * lit.pixel[y * IMAGE_SIDE + (int)clamp(x + d, 0, IMAGE_SIDE - 1)];
                rows.pixel[y * IMAGE_SIDE + x] = sum;
            }
        for (int y = 0; y < IMAGE_SIDE; y++)
            for (int x = 0; x < IMAGE_SIDE; x++) {
                double sum = 0;
                for (int d = -1; d <= 1; d++)
                    sum += k[d + 1] * rows.pixel[(int)clamp(y + d, 0, IMAGE_SIDE - 1) * IMAGE_SIDE + x];
                lit.pixel[y * IMAGE_SIDE + x] = sum;
            }
    }
    for (int i = 0; i < IMAGE_PIXELS; i++) {
        double v = lit.pixel[i] + noise * pixel_noise(rng);
        image[i] = (uint8_t)clamp(floor(v + 0.5), 0, 255);
    }
}

void synth_draw_face(int label, Rng *rng, uint8_t *image)
{
    Canvas canvas;
    Palette palette = random_palette(rng);
    double background = rng_range(rng, 20, 235);
    for (int i = 0; i < IMAGE_PIXELS; i++) canvas.pixel[i] = background;

    Pose pose;
    double angle = rng_range(rng, -12, 12) * M_PI / 180;
    pose.centre_x = 23.5 + rng_range(rng, -4, 4);
    pose.centre_y = 25.0 + rng_range(rng, -4, 4);
    pose.scale = rng_range(rng, 15, 19);
    pose.cos_angle = cos(angle);
    pose.sin_angle = sin(angle);
    double face_width = rng_range(rng, 0.9, 1.08), face_height = rng_range(rng, 1.2, 1.45);

    Expression e = random_expression(label, rng);
    double gaze = rng_range(rng, -0.04, 0.04);
    int sneer_side = rng_uniform(rng) < 0.5 ? -1 : 1;
    double brow_thickness = rng_range(rng, 0.055, 0.08);

    /* Back to front: hair behind the head, neck, face, features. */
    face_ellipse(&canvas, &pose, 0, -0.35, face_width * 1.12, face_height * 0.85, 0, palette.hair, 1.0);
    Point neck[4] = {to_image(&pose, -0.45, 0.8), to_image(&pose, 0.45, 0.8),
                     to_image(&pose, 0.5, 2.2), to_image(&pose, -0.5, 2.2)};
    paint_polygon(&canvas, neck, 4, palette.skin * 0.85, 1.0);
    face_ellipse(&canvas, &pose, 0, 0.05, face_width, face_height, 0, palette.skin, 1.0);

    draw_brows(&canvas, &pose, &e, &palette, brow_thickness);
    draw_eyes(&canvas, &pose, &e, &palette, gaze);
    int wrinkles = label == DISGUST && rng_uniform(rng) < 0.8 ? 2 + (int)rng_below(rng, 2) : 0;
    draw_nose(&canvas, &pose, &palette, label == DISGUST ? 0.04 : 0, wrinkles);
    draw_mouth(&canvas, &pose, &e, &palette, sneer_side);
    draw_lines(&canvas, &pose, label, &e, &palette, rng);
    draw_occluders(&canvas, &pose, &palette, rng);
    finish(&canvas, rng, image);
}

/* ------------------------------------------------------------ datasets */

SynthOptions synth_default_options(void)
{
    SynthOptions o;
    o.count[SPLIT_TRAIN] = SYNTH_DEFAULT_TRAIN;
    o.count[SPLIT_VAL] = SYNTH_DEFAULT_VAL;
    o.count[SPLIT_TEST] = SYNTH_DEFAULT_TEST;
    o.seed = SYNTH_DEFAULT_SEED;
    o.balanced = 0;
    return o;
}

void synth_class_counts(int total, int balanced, int counts[NUM_CLASSES])
{
    static const int fer2013_totals[NUM_CLASSES] = {4953, 547, 5121, 8989, 6077, 4002, 6198};
    long weights[NUM_CLASSES], weight_sum = 0;
    for (int c = 0; c < NUM_CLASSES; c++) {
        weights[c] = balanced ? 1 : fer2013_totals[c];
        weight_sum += weights[c];
    }
    /* Floor of each exact share, then the leftover images go to the
     * classes with the largest remainders (ties: lower class first).
     * Integer arithmetic, so every platform agrees. */
    long remainder[NUM_CLASSES];
    int assigned = 0;
    for (int c = 0; c < NUM_CLASSES; c++) {
        counts[c] = (int)((long)total * weights[c] / weight_sum);
        remainder[c] = (long)total * weights[c] % weight_sum;
        assigned += counts[c];
    }
    for (; assigned < total; assigned++) {
        int best = 0;
        for (int c = 1; c < NUM_CLASSES; c++)
            if (remainder[c] > remainder[best]) best = c;
        counts[best]++;
        remainder[best] = -1;
    }
}

/* One generator per purpose and image, all derived from the user's seed;
 * rng_seed's splitmix64 decorrelates the nearby values. */
static uint64_t derived_seed(uint64_t seed, int split, long index)
{
    return seed * 0xD1B54A32D192ED03ull + 0x9E3779B97F4A7C15ull * (uint64_t)(index + 2) +
           0xC2B2AE3D27D4EB4Full * (uint64_t)(split + 1);
}

void synth_generate(const SynthOptions *options, ImageSet sets[NUM_SPLITS])
{
    for (int s = 0; s < NUM_SPLITS; s++) {
        ImageSet *set = &sets[s];
        int n = options->count[s];
        int counts[NUM_CLASSES];
        synth_class_counts(n, options->balanced, counts);

        /* Exact class counts, in a random order. */
        int *labels = xmalloc((size_t)(n ? n : 1) * sizeof *labels);
        for (int c = 0, i = 0; c < NUM_CLASSES; c++)
            for (int k = 0; k < counts[c]; k++) labels[i++] = c;
        Rng order;
        rng_seed(&order, derived_seed(options->seed, s, -1));
        rng_shuffle(&order, labels, n);

        image_set_reserve(set, n);
        set->count = n;
        #pragma omp parallel for schedule(dynamic, 64)
        for (int i = 0; i < n; i++) {
            Rng rng;
            rng_seed(&rng, derived_seed(options->seed, s, i));
            set->labels[i] = labels[i];
            synth_draw_face(labels[i], &rng, set->images + (size_t)i * IMAGE_PIXELS);
        }
        free(labels);
    }
}

int synth_write_npz(const SynthOptions *options, const char *path, int compress, Error *err)
{
    ImageSet sets[NUM_SPLITS];
    memset(sets, 0, sizeof sets);
    synth_generate(options, sets);
    int status = splits_write_npz(sets, path, compress, err);
    for (int s = 0; s < NUM_SPLITS; s++) image_set_free(&sets[s]);
    return status;
}

int synth_ensure_builtin(const char *path, Error *err)
{
    if (access(path, F_OK) == 0) return 0;
    SynthOptions options = synth_default_options();
    printf("%s not found: drawing the built-in synthetic faces (%d train, %d val, %d test, "
           "seed %llu) as 'emotion data synth' would\n",
           path, options.count[SPLIT_TRAIN], options.count[SPLIT_VAL], options.count[SPLIT_TEST],
           (unsigned long long)options.seed);
    fflush(stdout);
    if (make_parent_directories(path, err)) return -1;
    return synth_write_npz(&options, path, 0, err);
}
