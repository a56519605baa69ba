/* Model descriptions (layers/arch.h): what parses, what each mistake says,
 * what the built network looks like, and the shipped models/ files. The
 * expected shapes and parameter counts are worked by hand in the comments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "conv.h"
#include "model.h"
#include "network.h"
#include "pool.h"
#include "testutil.h"

/* Parses text, failing the test with the message if it does not parse. */
static Arch parsed(const char *text)
{
    Arch arch;
    Error err;
    ck_assert_msg(arch_parse(text, "test", &arch, &err) == 0, "'%s': %s", text, err.msg);
    return arch;
}

/* The message arch_parse gives for text (which must fail). */
static const char *parse_error(const char *text, const char *origin)
{
    static Error err;
    Arch arch;
    ck_assert_msg(arch_parse(text, origin, &arch, &err) != 0, "'%s' should not parse", text);
    return err.msg;
}

/* The message building text for (C, H, W) and K classes gives (must fail). */
static const char *build_error(const char *text, int c, int h, int w, int classes)
{
    static Error err;
    Network *net = arch_build_text(text, "--arch", c, h, w, classes, &err);
    ck_assert_msg(net == NULL, "'%s' should not build", text);
    return err.msg;
}

#define assert_says(message, wanted) \
    ck_assert_msg(strstr((message), (wanted)), "message '%s' lacks '%s'", (message), (wanted))

START_TEST(every_form_parses_with_its_defaults)
{
    Arch a = parsed("conv 32 3x3 pad 1\n"
                    "conv 8 5 stride 2\n"
                    "conv 4 3x5 stride 2 pad 2\n"
                    "relu\n"
                    "maxpool 2\n"
                    "avgpool 3 stride 1\n"
                    "maxpool 3x2 stride 2 pad 1\n"
                    "fc 256\n");
    ck_assert_int_eq(a.count, 8);
    ck_assert_int_eq(a.layers[0].kind, ARCH_CONV);
    ck_assert_int_eq(a.layers[0].width, 32);
    ck_assert_int_eq(a.layers[0].kernel_h, 3);
    ck_assert_int_eq(a.layers[0].kernel_w, 3);
    ck_assert_int_eq(a.layers[0].stride, 1); /* a convolution steps by 1 unless told */
    ck_assert_int_eq(a.layers[0].pad, 1);
    ck_assert_int_eq(a.layers[1].kernel_h, 5); /* "5" is 5x5 */
    ck_assert_int_eq(a.layers[1].kernel_w, 5);
    ck_assert_int_eq(a.layers[1].stride, 2);
    ck_assert_int_eq(a.layers[1].pad, 0);
    ck_assert_int_eq(a.layers[2].kernel_h, 3);
    ck_assert_int_eq(a.layers[2].kernel_w, 5);
    ck_assert_int_eq(a.layers[2].pad, 2);
    ck_assert_int_eq(a.layers[3].kind, ARCH_RELU);
    ck_assert_int_eq(a.layers[4].kind, ARCH_MAXPOOL);
    ck_assert_int_eq(a.layers[4].stride, 2); /* a pool steps by its window */
    ck_assert_int_eq(a.layers[5].kind, ARCH_AVGPOOL);
    ck_assert_int_eq(a.layers[5].stride, 1);
    ck_assert_int_eq(a.layers[6].kernel_h, 3);
    ck_assert_int_eq(a.layers[6].kernel_w, 2);
    ck_assert_int_eq(a.layers[6].pad, 1);
    ck_assert_int_eq(a.layers[7].kind, ARCH_FC);
    ck_assert_int_eq(a.layers[7].width, 256);
}
END_TEST

START_TEST(comments_blank_lines_and_commas_are_allowed)
{
    Arch lines = parsed("# a comment line\n\n  conv 4 3x3 pad 1   # after a layer\n\trelu\n"
                        "maxpool 2, fc 7\n");
    Arch commas = parsed("conv 4 3x3 pad 1, relu, maxpool 2, fc 7");
    ck_assert_int_eq(lines.count, 4);
    ck_assert_int_eq(commas.count, 4);
    char a[256], b[256];
    arch_format(&lines, a, sizeof a);
    arch_format(&commas, b, sizeof b);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, "conv 4 3x3 stride 1 pad 1\nrelu\nmaxpool 2x2 stride 2\nfc 7\n");
    /* the canonical text parses back to the same description */
    Arch again = parsed(a);
    arch_format(&again, b, sizeof b);
    ck_assert_str_eq(a, b);
}
END_TEST

/* 'winograd' asks a 3x3, stride 1 convolution to compute through
 * winograd.h; the canonical text keeps it, in either order with 'nobias',
 * the layer built takes that path, and other kernels or strides are
 * refused with the reason. */
START_TEST(winograd_is_a_convolution_option_kept_in_the_text)
{
    Arch a = parsed("conv 8 3x3 pad 1 winograd nobias, conv 4 3 nobias winograd, conv 2 3x3");
    ck_assert_int_eq(a.layers[0].winograd, 1);
    ck_assert_int_eq(a.layers[0].no_bias, 1);
    ck_assert_int_eq(a.layers[1].winograd, 1);
    ck_assert_int_eq(a.layers[2].winograd, 0);
    char text[512];
    arch_format(&a, text, sizeof text);
    ck_assert_str_eq(text, "conv 8 3x3 stride 1 pad 1 nobias winograd\n"
                           "conv 4 3x3 stride 1 pad 0 nobias winograd\n"
                           "conv 2 3x3 stride 1 pad 0\n");
    /* and reads back: every option spelled out is the longest layer there is
     * (it once had one word too many for the parser, so that no checkpoint
     * of such a network could be loaded) */
    Arch again = parsed(text);
    char text_again[512];
    arch_format(&again, text_again, sizeof text_again);
    ck_assert_str_eq(text_again, text);
    Error err;
    Network *net = arch_build_text("conv 8 3x3 pad 1 winograd, conv 4 3x3, fc 3", "--arch", 1, 8,
                                   8, 3, &err);
    ck_assert_ptr_nonnull(net);
    ck_assert_int_eq(((ConvLayer *)net->layers[0])->winograd, 1);
    ck_assert_int_eq(((ConvLayer *)net->layers[1])->winograd, 0);
    /* the arithmetic counted is the products': 36 positions x (8 filters x
     * 1 channel) x 4 blocks of 4x4 on the 8x8 map, against 8 x 9 x 64
     * multiply-adds computed directly; the forward twice over backward
     * (dw, and dx but for the first layer) */
    double forward, backward;
    network_layer_flops(net, 0, &forward, &backward);
    ck_assert_double_eq(forward, 2.0 * 36 * 8 * 1 * 4);
    ck_assert_double_eq(backward, forward);
    network_layer_flops(net, 1, &forward, &backward);
    ck_assert_double_eq(forward, 2.0 * 4 * 8 * 9 * 36);
    ck_assert_double_eq(backward, 2 * forward);
    network_free(net);
    assert_says(parse_error("conv 8 5x5 pad 2 winograd", "--arch"),
                "item 1: 'winograd' computes 3x3 convolutions with stride 1, not 5x5 with stride 1");
    assert_says(parse_error("conv 8 3x3 stride 2 winograd", "--arch"), "not 3x3 with stride 2");
    assert_says(parse_error("conv 8 3x3 winograd winograd", "--arch"), "'winograd' given twice");
    assert_says(parse_error("maxpool 2 winograd", "--arch"), "'winograd' is not one of them");
}
END_TEST

START_TEST(mistakes_are_named_with_their_line_or_item)
{
    assert_says(parse_error("conv 4 3x3, rellu, fc 7", "--arch"),
                "--arch item 2: unknown layer 'rellu' (the layers are conv, relu, maxpool, "
                "avgpool, fc, batchnorm, dropout and crop)");
    assert_says(parse_error("conv 4 3x3\nrelu\n\nCONV 2 3\n", "m.net"),
                "m.net line 4: unknown layer 'CONV'");
    assert_says(parse_error("conv 3x3 8", "--arch"),
                "item 1: 'conv' needs a number of filters from 1 to 65536, not '3x3'");
    assert_says(parse_error("conv 8", "--arch"), "'conv' needs a kernel size");
    assert_says(parse_error("conv 8 3x", "--arch"), "kernel size K or KHxKW");
    assert_says(parse_error("conv 8 0", "--arch"), "not '0'");
    assert_says(parse_error("fc", "--arch"), "'fc' needs a number of outputs");
    assert_says(parse_error("fc -3", "--arch"), "not '-3'");
    assert_says(parse_error("fc 99999999999999999999", "--arch"), "not '99999999999999999999'");
    assert_says(parse_error("fc 2.5", "--arch"), "not '2.5'");
    assert_says(parse_error("conv 8 3 strid 2", "--arch"), "'strid' is not one of them");
    assert_says(parse_error("conv 8 3 stride", "--arch"), "'stride' needs a value");
    assert_says(parse_error("conv 8 3 stride 0", "--arch"), "from 1 to 1024, not '0'");
    assert_says(parse_error("maxpool 2 pad -1", "--arch"), "from 0 to 1024, not '-1'");
    assert_says(parse_error("relu 3", "--arch"), "unexpected '3' after 'relu'");
    assert_says(parse_error("crop", "--arch"), "'crop' needs a window size, e.g. 'crop 40'");
    assert_says(parse_error("crop 40x", "--arch"), "'crop' needs a window size K or KHxKW (whole "
                                                   "numbers from 1 to 1024), not '40x'");
    assert_says(parse_error("crop 0", "--arch"), "not '0'");
    assert_says(parse_error("crop 40 pad 1", "--arch"), "unexpected 'pad' after 'crop'");
    assert_says(parse_error("relu,, fc 7", "--arch"), "item 2: empty item between commas");
    assert_says(parse_error("maxpool 2x3", "--arch"), "needs 'stride S'");
    assert_says(parse_error("conv 4 3, relu\nfc 7 extra\n", "m.net"), "m.net line 2: unexpected 'extra'");
    assert_says(parse_error("relu\nconv 4 3, rellu\n", "m.net"), "m.net line 2, item 2: unknown layer");
    assert_says(parse_error("# nothing but comments\n\n", "m.net"), "m.net: the description has no layers");
    /* words are quoted in messages, so nothing a terminal obeys gets in */
    assert_says(parse_error("conv 4 3\nrelu\x1B[31m\nfc 7\n", "m.net"),
                "m.net line 2: the control character U+001B; a description is plain text");
    assert_says(parse_error("conv 4 3, rel\xC2\x9Bu", "--arch"), "--arch line 1: the control character U+009B");
    assert_says(parse_error("# caf\xE9\nrelu\n", "m.net"), "m.net line 1: not UTF-8 text (at byte 5 of");
    assert_says(parse_error("relu\n# caf\xE9\n", "m.net"), "m.net line 2: not UTF-8 text (at byte 5 of the line)");
    char many[1024] = "";
    for (int i = 0; i <= ARCH_MAX_LAYERS; i++) strcat(many, "relu,");
    strcat(many, "relu");
    assert_says(parse_error(many, "--arch"), "at most 64 layers");
}
END_TEST

/* A file saved with old Mac line ends (a lone '\r') or Windows ones
 * ("\r\n") reads as the same lines: the same layers, and a mistake on the
 * same line number (a CR-only file was one long line: "item 1: too many
 * words for one layer"). */
START_TEST(mac_and_windows_line_ends_are_line_ends)
{
    const char *unix_text = "conv 4 3x3 pad 1\nrelu\nmaxpool 2\nfc 7\n";
    char want[256], got[256];
    Arch lines = parsed(unix_text);
    arch_format(&lines, want, sizeof want);
    const char *others[] = {"conv 4 3x3 pad 1\rrelu\rmaxpool 2\rfc 7\r",
                            "conv 4 3x3 pad 1\r\nrelu\r\nmaxpool 2\r\nfc 7\r\n",
                            "conv 4 3x3 pad 1\rrelu\r\nmaxpool 2\nfc 7",
                            "# old Mac\rconv 4 3x3 pad 1\r\rrelu\rmaxpool 2, fc 7\r"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        Arch arch = parsed(others[i]);
        ck_assert_int_eq(arch.count, 4);
        arch_format(&arch, got, sizeof got);
        ck_assert_str_eq(got, want);
    }
    assert_says(parse_error("conv 4 3\rrelu\rrellu\rfc 7\r", "m.net"),
                "m.net line 3: unknown layer 'rellu'");
    assert_says(parse_error("relu\rrelu\x1B[2J\r", "m.net"),
                "m.net line 2: the control character U+001B");
}
END_TEST

/* What a reader cannot see is named, never quoted raw: invisible
 * characters anywhere (comments too: U+202E reorders the rest of the line
 * on screen, the Trojan Source trick), a space that only looks like one,
 * and a byte order mark anywhere but at the very start. */
START_TEST(hidden_characters_are_named_with_their_line)
{
    assert_says(parse_error("conv 4 3\nrelu # \xE2\x80\xAE 7 cf\nfc 7\n", "m.net"),
                "m.net line 2: U+202E, an invisible right-to-left override, at byte 7 of the "
                "line; a description is plain text");
    assert_says(parse_error("conv 4 3, re\xE2\x80\x8Blu, fc 7", "--arch"),
                "--arch line 1: U+200B, an invisible zero-width space, at byte 12 of the line");
    assert_says(parse_error("relu\n\xE2\x81\xA6" "fc 7\xE2\x81\xA9\n", "m.net"),
                "m.net line 2: U+2066, an invisible left-to-right isolate");
    assert_says(parse_error("conv\xC2\xA0" "4 3x3\nrelu\nfc 7\n", "m.net"),
                "m.net line 1: 'conv\xC2\xA0" "4 3x3' holds U+00A0, a non-breaking space; "
                "separate words with plain spaces");
    assert_says(parse_error("conv 4 3, relu\xE2\x80\xAF, fc 7", "--arch"),
                "--arch item 2: 'relu\xE2\x80\xAF' holds U+202F, a narrow non-breaking space");
    assert_says(parse_error("\xEF\xBB\xBF\xEF\xBB\xBF" "conv 4 3\nfc 7\n", "m.net"),
                "m.net line 1: U+FEFF, an invisible byte order mark, at byte 3 of the line "
                "(only the first character of a file may be one)");
    assert_says(parse_error("relu\n\xEF\xBB\xBF" "fc 7\n", "m.net"), "m.net line 2: U+FEFF");
    /* one byte order mark at the start is how some editors save: skipped;
     * a comment may hold any visible text, a no-break space included */
    Arch arch = parsed("\xEF\xBB\xBF# caf\xC3\xA9\xC2\xA0!\nconv 4 3\nfc 7\n");
    ck_assert_int_eq(arch.count, 2);
}
END_TEST

START_TEST(shapes_that_do_not_fit_are_named_with_the_map_size)
{
    /* 8x8 -> conv 3x3 pad 1 -> 8x8 -> maxpool 2 -> 4x4: a 5x5 window does not fit */
    assert_says(build_error("conv 2 3x3 pad 1, maxpool 2, maxpool 5, fc 3", 1, 8, 8, 3),
                "--arch item 3: 'maxpool 5x5 stride 5': the 5x5 window is larger than the 4x4 map "
                "it meets");
    assert_says(build_error("conv 2 9x9, fc 3", 1, 8, 8, 3),
                "item 1: 'conv 2 9x9 stride 1 pad 0': the 9x9 kernel is larger than the 8x8 map");
    assert_says(build_error("conv 2 11x11 pad 1, fc 3", 1, 8, 8, 3),
                "the 11x11 kernel is larger than the 8x8 map it meets (10x10 with padding 1)");
    assert_says(build_error("crop 9x4, fc 3", 1, 8, 8, 3),
                "item 1: 'crop 9x4': the 9x4 window is larger than the 8x8 map it meets");
    assert_says(build_error("fc 10, crop 2, fc 3", 1, 8, 8, 3),
                "item 2: 'crop 2x2' needs an image map (C, H, W), but it meets the 10 values");
    assert_says(build_error("fc 10, conv 2 3, fc 3", 1, 8, 8, 3),
                "item 2: 'conv 2 3x3 stride 1 pad 0' needs an image map (C, H, W), but it meets "
                "the 10 values");
    /* the last layer must give one score per class */
    assert_says(build_error("conv 2 3x3 pad 1, relu, fc 7", 1, 8, 8, 5),
                "item 3: the last layer gives 7 scores per image, but the data has 5 classes "
                "(end with 'fc 5')");
    /* sizes no machine here holds are refused before anything is allocated */
    assert_says(build_error("conv 4096 3x3 pad 1, conv 4096 3x3 pad 1, fc 65536, fc 7", 1, 48, 48, 7),
                "more than");
    assert_says(build_error("fc 65536, fc 65536, fc 7", 1, 8, 8, 7), "item 2: 'fc 65536' meets");
    /* a batchnorm's scale and shift can take the network past the limit too: named by
     * its line like the others (1089 + 1 conv, 1600*62384 + 62384 fc: 99,877,874; then
     * 2*62384 more) */
    assert_says(build_error("conv 1 33x33 pad 32\nfc 62384\nbatchnorm\n", 1, 8, 8, 62384),
                "--arch line 3: 'batchnorm' brings the network to 100002642 parameters, more "
                "than the 100000000 a network may hold");
}
END_TEST

/* A convolution pads at most its kernel's smaller side less one, a pool
 * half its window (PyTorch's rule): past that, outputs see only padding.
 * 'conv 1 1x1 pad 1024' made a 48x48 face 2096x2096 and trained 64 images
 * in 28 s; it is now refused while parsing, naming the item or line. */
START_TEST(padding_a_window_cannot_use_is_refused_with_its_line)
{
    assert_says(parse_error("conv 1 1x1 pad 1024, fc 7", "--arch"),
                "--arch item 1: 'pad 1024' is more than a 1x1 kernel can use: at most 0, its size "
                "less one (beyond that, outputs at the border would see only padding)");
    assert_says(parse_error("conv 4 3x3 pad 1\nrelu\nconv 4 3x3 pad 3\nfc 7\n", "m.net"),
                "m.net line 3: 'pad 3' is more than a 3x3 kernel can use: at most 2");
    /* one pad serves both sides, so the smaller one limits it */
    assert_says(parse_error("conv 4 1x7 pad 3", "--arch"),
                "'pad 3' is more than a 1x7 kernel can use: at most 0, its smaller side less one");
    assert_says(parse_error("conv 4 3x5 stride 2 pad 3", "--arch"), "at most 2");
    assert_says(parse_error("maxpool 2 pad 2, fc 7", "--arch"),
                "--arch item 1: 'pad 2' is more than half the 2x2 window: at most 1, as in "
                "PyTorch (beyond that, a window could hold only padding)");
    assert_says(parse_error("relu\navgpool 3x5 stride 1 pad 2\n", "m.net"),
                "m.net line 2: 'pad 2' is more than half the 3x5 window: at most 1");
    /* the largest pads allowed parse */
    Arch a = parsed("conv 4 3x3 pad 2, conv 4 3x5 stride 2 pad 2, conv 4 1024x1024 pad 1023, "
                    "maxpool 2 pad 1, avgpool 5x4 stride 1 pad 2");
    ck_assert_int_eq(a.count, 5);
}
END_TEST

/* Every pad the language accepts gives outputs that each see at least one
 * pixel of the image, whatever the stride: with weights of 1 and an image
 * of 1, no output of a convolution (or of an average pool, which counts
 * the padding as zeros) is 0. And the convolution's limit is tight: one
 * more, at stride 1, and a corner output sees only padding. */
START_TEST(every_pad_the_language_accepts_sees_the_image)
{
    Error err;
    for (int kh = 1; kh <= 4; kh++)
        for (int kw = 1; kw <= 4; kw++)
            for (int pad = 0; pad <= 4; pad++)
                for (int stride = 1; stride <= 3; stride++)
                    for (int kind = 0; kind < 2; kind++) {
                        char text[96];
                        snprintf(text, sizeof text, "%s %dx%d stride %d pad %d",
                                 kind == 0 ? "conv 1" : "avgpool", kh, kw, stride, pad);
                        Arch arch;
                        const int side = kh < kw ? kh : kw;
                        const int allowed = kind == 0 ? pad <= side - 1 : 2 * pad <= side;
                        ck_assert_msg((arch_parse(text, "--arch", &arch, &err) == 0) == allowed,
                                      "'%s' should %s", text, allowed ? "parse" : "be refused");
                        const int tight = kind == 0 && pad == side && stride == 1;
                        if (!allowed && !tight) continue;
                        /* on every image of 1 to 6 pixels a side that holds the window */
                        for (int H = 1; H <= 6; H++)
                            for (int W = 1; W <= 6; W++) {
                                if (kh > H + 2 * pad || kw > W + 2 * pad) continue;
                                Layer *layer = kind == 0
                                    ? conv_create(1, 1, kh, kw, stride, pad, &err)
                                    : avgpool_create(kh, kw, stride, pad, &err);
                                if (!layer) {
                                    ck_assert_msg(!allowed, "%s: %s", text, err.msg);
                                    continue; /* avgpool_create refuses it too */
                                }
                                if (kind == 0) tensor_fill(((ConvLayer *)layer)->w, 1);
                                Tensor *x = tensor_new4(1, 1, H, W), *out = tensor_new4(1, 1, 1, 1);
                                tensor_fill(x, 1);
                                layer_forward(layer, x, out);
                                int blind = 0;
                                for (size_t i = 0; i < out->size; i++) blind += out->data[i] == 0;
                                if (allowed)
                                    ck_assert_msg(blind == 0, "'%s' on %dx%d: %d outputs see only "
                                                  "padding", text, H, W, blind);
                                else
                                    ck_assert_msg(blind > 0, "'%s' on %dx%d: every output sees the "
                                                  "image, so the limit is not tight", text, H, W);
                                tensor_free(x);
                                tensor_free(out);
                                layer_free(layer);
                            }
                    }
}
END_TEST

/* A forward pass of more than 1e11 floating-point operations per image is
 * refused, naming the layer that goes past it, before anything large is
 * allocated: a 1024x1024 kernel on a 48x48 face (2.4e12), or a stride-1
 * pool of large windows, which ran for hours. */
START_TEST(a_forward_pass_past_the_arithmetic_limit_is_refused_naming_the_layer)
{
    assert_says(build_error("conv 1 1024x1024 pad 1023, fc 7", 1, 48, 48, 7),
                "--arch item 1: 'conv 1 1024x1024 stride 1 pad 1023' computes 2.41e+12 "
                "floating-point operations per image, more than the 1e+11 a network may compute");
    /* 1025x1025 windows of 1024x1024 each: 1.1e12 comparisons */
    assert_says(build_error("maxpool 1024 stride 1 pad 512, fc 7", 1, 1024, 1024, 7),
                "item 1: 'maxpool 1024x1024 stride 1 pad 512' computes 1.1e+12");
    /* layers that are each under the limit, together over it: each gives a map
     * one larger than it meets (512 + 2*150 - 300 + 1), and sums 300x300
     * windows for each output: 513^2 * 9e4 = 2.37e10 for the first, ...,
     * 517^2 * 9e4 = 2.41e10 for the fifth, which brings the total to 1.19e11 */
    assert_says(build_error("avgpool 300 stride 1 pad 150, avgpool 300 stride 1 pad 150, "
                            "avgpool 300 stride 1 pad 150, avgpool 300 stride 1 pad 150, "
                            "avgpool 300 stride 1 pad 150, fc 7", 1, 512, 512, 7),
                "item 5: 'avgpool 300x300 stride 1 pad 150' brings the network's forward pass to "
                "1.19e+11 floating-point operations per image (2.41e+10 of them its own), more "
                "than the 1e+11");
    /* four of them are under it */
    Error err;
    Network *net = arch_build_text("avgpool 300 stride 1 pad 150, avgpool 300 stride 1 pad 150, "
                                   "avgpool 300 stride 1 pad 150, avgpool 300 stride 1 pad 150, "
                                   "fc 7", "--arch", 1, 512, 512, 7, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    network_free(net);
}
END_TEST

START_TEST(the_seed_network_has_the_hand_worked_shapes)
{
    Error err;
    Network *net = arch_build_text(arch_emotion_text, "built-in", 1, 48, 48, 7, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    const char *names[9] = {"conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc1", "relu3", "fc2"};
    for (int i = 0; i < 9; i++) ck_assert_str_eq(net->layers[i]->name, names[i]);
    /* 32*9+32 + 64*288+64 + 9216*256+256 + 256*7+7 */
    ck_assert_uint_eq(network_param_count(net), 2380167);
    ck_assert_str_eq(net->description, "conv 32 3x3 stride 1 pad 1\nrelu\nmaxpool 2x2 stride 2\n"
                                       "conv 64 3x3 stride 1 pad 1\nrelu\nmaxpool 2x2 stride 2\n"
                                       "fc 256\nrelu\nfc 7\n");
    /* the table: forward MFLOP per image, worked by hand
     *   conv1 2*1*9*32*48*48 = 1,327,104     conv2 2*32*9*64*24*24 = 21,233,664
     *   fc1 2*9216*256 = 4,718,592           fc2 2*256*7 = 3,584
     *   relu1 73,728  pool1 4*32*24*24 = 73,728  relu2 36,864  pool2 36,864  relu3 256
     *   total 27,504,384 */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    arch_print_table(out, net);
    fclose(out);
    assert_says(text, "conv1    (32, 48, 48)                320        1.327");
    assert_says(text, "pool2    (64, 12, 12)                           0.037");
    assert_says(text, "fc1      (256,)                  2359552        4.719");
    assert_says(text, "total                            2380167       27.504");
    free(text);
    network_free(net);
}
END_TEST

START_TEST(a_strided_5x5_convolution_and_an_average_pool_build_on_any_image_size)
{
    Error err;
    /* 28x28: conv 5x5 stride 2 pad 2 -> (28 + 4 - 5)/2 + 1 = 14; avgpool 2 -> 7;
     * fc sees 6*7*7 = 294 values: 294*5 + 5 = 1475, conv 6*25 + 6 = 156 */
    Network *net = arch_build_text("conv 6 5x5 stride 2 pad 2, relu, avgpool 2, fc 5", "--arch",
                                   1, 28, 28, 5, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_int_eq(net->out[0]->dim[2], 14);
    ck_assert_int_eq(net->out[2]->dim[2], 7);
    ck_assert_uint_eq(network_param_count(net), 156 + 1475);
    network_free(net);
    /* three colour channels, non-square: 3x20x30 -> conv 3x5 -> 18x26 -> maxpool 2 -> 9x13 */
    net = arch_build_text("conv 4 3x5, relu, maxpool 2, fc 3", "--arch", 3, 20, 30, 3, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_int_eq(net->out[2]->dim[2], 9);
    ck_assert_int_eq(net->out[2]->dim[3], 13);
    ck_assert_uint_eq(network_param_count(net), 4 * 3 * 15 + 4 + 4 * 9 * 13 * 3 + 3);
    network_free(net);
}
END_TEST

START_TEST(parameters_carry_their_roles)
{
    Network *net = seed_cnn(8, 2, 3, 4, 5);
    for (int i = 0; i < network_num_params(net); i++) {
        char name[32];
        const Param *p = network_param(net, i, name, sizeof name);
        int weight = strstr(name, ".w") != NULL;
        ck_assert_int_eq(p->decay, weight);
        ck_assert_int_eq(p->init, weight ? PARAM_INIT_HE : PARAM_INIT_ZERO);
    }
    /* fan-in: conv1 1*3*3, conv2 2*3*3, fc1 3*2*2 (8 -> 4 -> 2), fc2 4 */
    ck_assert_int_eq(network_param(net, 0, NULL, 0)->fan_in, 9);
    ck_assert_int_eq(network_param(net, 2, NULL, 0)->fan_in, 18);
    ck_assert_int_eq(network_param(net, 4, NULL, 0)->fan_in, 12);
    ck_assert_int_eq(network_param(net, 6, NULL, 0)->fan_in, 4);
    network_free(net);
}
END_TEST

/* The built-in copy and the shipped file describe the same network, and
 * every shipped model builds for 48x48 faces in 7 classes. */
START_TEST(the_shipped_models_build_and_emotion_net_is_the_builtin)
{
    static const char *const files[] = {"models/emotion.net", "models/strided.net",
                                        "models/three_blocks.net", "models/avgpool_head.net"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        Error err;
        ModelChoice choice = {.model_path = files[i]};
        Network *net = model_build(&choice, 1, 48, 48, 7, &err);
        ck_assert_msg(net != NULL, "%s", err.msg);
        if (i == 0) {
            Network *builtin = arch_build_text(arch_emotion_text, "built-in", 1, 48, 48, 7, &err);
            ck_assert_str_eq(net->description, builtin->description);
            network_free(builtin);
        }
        network_free(net);
    }
}
END_TEST

START_TEST(the_builtin_default_follows_the_data_class_count)
{
    Error err;
    ModelChoice none = {0};
    Network *net = model_build(&none, 1, 28, 28, 5, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_int_eq(network_output_size(net), 5);
    network_free(net);
    ModelChoice both = {.model_path = "models/emotion.net", .arch_text = "fc 7"};
    ck_assert_ptr_null(model_build(&both, 1, 48, 48, 7, &err));
    assert_says(err.msg, "give --model or --arch, not both");
    ModelChoice missing = {.model_path = "models/no_such.net"};
    ck_assert_ptr_null(model_build(&missing, 1, 48, 48, 7, &err));
    assert_says(err.msg, "models/no_such.net: cannot open");
    ModelChoice directory = {.model_path = "models"};
    ck_assert_ptr_null(model_build(&directory, 1, 48, 48, 7, &err));
    assert_says(err.msg, "models: is a directory");
}
END_TEST

START_TEST(modes_reach_every_layer)
{
    Network *net = seed_cnn(8, 2, 3, 4, 5);
    for (int i = 0; i < net->num_layers; i++) ck_assert_int_eq(net->layers[i]->mode, LAYER_TRAIN);
    network_set_mode(net, LAYER_EVAL);
    for (int i = 0; i < net->num_layers; i++) ck_assert_int_eq(net->layers[i]->mode, LAYER_EVAL);
    network_free(net);
}
END_TEST

Suite *arch_suite(void)
{
    Suite *s = suite_create("arch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every_form_parses_with_its_defaults);
    tcase_add_test(tc, winograd_is_a_convolution_option_kept_in_the_text);
    tcase_add_test(tc, comments_blank_lines_and_commas_are_allowed);
    tcase_add_test(tc, mistakes_are_named_with_their_line_or_item);
    tcase_add_test(tc, mac_and_windows_line_ends_are_line_ends);
    tcase_add_test(tc, hidden_characters_are_named_with_their_line);
    tcase_add_test(tc, shapes_that_do_not_fit_are_named_with_the_map_size);
    tcase_add_test(tc, padding_a_window_cannot_use_is_refused_with_its_line);
    tcase_add_test(tc, every_pad_the_language_accepts_sees_the_image);
    tcase_add_test(tc, a_forward_pass_past_the_arithmetic_limit_is_refused_naming_the_layer);
    tcase_add_test(tc, the_seed_network_has_the_hand_worked_shapes);
    tcase_add_test(tc, a_strided_5x5_convolution_and_an_average_pool_build_on_any_image_size);
    tcase_add_test(tc, parameters_carry_their_roles);
    tcase_add_test(tc, the_shipped_models_build_and_emotion_net_is_the_builtin);
    tcase_add_test(tc, the_builtin_default_follows_the_data_class_count);
    tcase_add_test(tc, modes_reach_every_layer);
    suite_add_tcase(s, tc);
    return s;
}
