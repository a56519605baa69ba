/* softmax.c: softmax and the cross-entropy loss. Lesson 5.
 *
 *   scores  (N, K)   raw scores (logits) z: N items, K classes
 *   labels  (N,)     the true class of each item, 0 <= labels[i] < K
 *
 *   p[i][j] = exp(z[i][j]) / sum over k of exp(z[i][k])
 *   loss    = (1/N) sum over i of -log p[i][labels[i]]
 *
 * Scores can be large (1000 is allowed): exp(1000) overflows a double.
 * Subtracting a row's maximum m from every score of the row changes no p
 * and keeps every exponent <= 0:
 *   -log p[i][y] = m + log(sum over j of exp(z[i][j] - m)) - z[i][y]. */

/* Returns the mean loss over the N items. */
double softmax_xent_loss(const double *scores, const int *labels, int N, int K)
{
    /* TODO: write softmax_xent_loss, then delete this block. */
    return 0;
}

/* Writes dscores (N, K) = d loss / d scores = (p - onehot(labels)) / N,
 * overwriting it. */
void softmax_xent_gradient(const double *scores, const int *labels, int N, int K,
                           double *dscores)
{
    /* TODO: write softmax_xent_gradient, then delete this block. */
    for (int k = 0; k < N * K; k++) dscores[k] = 0;
}
