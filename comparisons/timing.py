"""How the comparison benches time a step: the median over `repeats` runs after
`warmup` unmeasured ones, as images per second (as `emotion bench` reports)."""
import statistics
import time


def median_images_per_second(step, batch, warmup, repeats):
    for _ in range(warmup):
        step()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return batch / statistics.median(seconds)
