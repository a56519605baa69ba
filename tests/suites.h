/* One line per test file: SUITE(name) declares `Suite *name_suite(void)`,
 * defined in tests/test_<name>.c. check_main.c runs them all. */
SUITE(tensor)
SUITE(npz)
SUITE(fer_csv)
SUITE(synth)
SUITE(loader)
SUITE(gemm)
SUITE(im2col)
SUITE(conv)
SUITE(pool)
SUITE(fc)
SUITE(gradcheck)
SUITE(network)
