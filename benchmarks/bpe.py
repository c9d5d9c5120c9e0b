"""Benchmark: our byte-level BPE trainer against Hugging Face `tokenizers` (`make bench-bpe`).

Trains both on all of Tiny Shakespeare to a 1,000-token vocabulary and prints the training
seconds, their ratio and the compression (bytes per token) of each on the same text. The bar
(issue: part 4) is at most 30 s for our trainer on a 2-core machine; the exit status is 1 above it.
Both tokenizers are measured on the text they were trained on, so the compression figures
compare the two vocabularies, not how well either generalizes (notebook 17 does that).
"""

import os
import sys
import time

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from fromscratch.data import load_tiny_shakespeare
from fromscratch.tokenization import BPETokenizer

VOCAB_SIZE = 1_000
BAR_SECONDS = 30.0


def train_ours(text):
    return BPETokenizer().train(text, VOCAB_SIZE)


def train_hugging_face(text):
    """Hugging Face's byte-level BPE with the same pre-tokenizer (GPT-2's, no prefix space)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([text], trainer)
    return tokenizer


def timed(train, text):
    start = time.perf_counter()
    tokenizer = train(text)
    return tokenizer, time.perf_counter() - start


def main():
    text = load_tiny_shakespeare()
    n_bytes = len(text.encode("utf-8"))
    load_before = os.getloadavg()[0]
    ours, our_seconds = timed(train_ours, text)
    theirs, hf_seconds = timed(train_hugging_face, text)
    our_ratio = n_bytes / len(ours.encode(text))
    hf_ratio = n_bytes / len(theirs.encode(text).ids)

    print(f"Tiny Shakespeare: {n_bytes:,} bytes; vocabulary {VOCAB_SIZE:,} tokens; "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'':26}{'ours':>10}{'Hugging Face':>15}")
    print(f"{'training seconds':26}{our_seconds:>10.2f}{hf_seconds:>15.2f}")
    print(f"{'bytes per token':26}{our_ratio:>10.3f}{hf_ratio:>15.3f}")
    print(f"training time ratio (ours / Hugging Face): {our_seconds / hf_seconds:.1f}x")
    verdict = "within" if our_seconds <= BAR_SECONDS else "OVER"
    print(f"our training time {our_seconds:.2f} s is {verdict} the {BAR_SECONDS:g} s bar")
    return 0 if our_seconds <= BAR_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
