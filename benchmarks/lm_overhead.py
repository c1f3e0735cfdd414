"""Tokens/s of raw llama-cpp-python vs the same prompts through DSPy + litellm + the local provider.

Same model instance, same prompts, same settings (temperature 0, fixed seed), so the paths generate the same
tokens. The provider starts every call from a fresh context (so an answer never depends on the call before it);
raw llama-cpp-python is timed both that way, which isolates the framework's own cost, and with its default
reuse of the previous prompt's KV prefix, which shows what that determinism costs. The stack path goes through
a fresh run cache, as runs do, so every call is a cache miss that is also written to disk.

    .venv/bin/python benchmarks/lm_overhead.py [--rounds 3] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import persona  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm loads)
from persona.data import load_embedded_prompts
from persona.lm import ModelConfig, make_lm
from persona.lm.llama import load_model
from persona.lm.local import DEFAULT_MODEL, resolve_model_path
from persona.runs import run_cache

REUSE = "raw llama-cpp-python, prefix reuse"
FRESH = "raw llama-cpp-python, fresh context"
STACK = "DSPy + litellm + provider"


def raw_round(prompts: list[str], max_tokens: int, fresh: bool = False) -> tuple[float, int, list[str]]:
    """Raw llama-cpp-python; ``fresh`` resets the context per call, as the provider does for determinism."""
    loaded = load_model(resolve_model_path(DEFAULT_MODEL))
    tokens, texts = 0, []
    start = time.perf_counter()
    for prompt in prompts:
        with loaded.lock:
            if fresh:
                loaded.llama.reset()
            out = loaded.llama.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0.0, seed=0
            )
        tokens += out["usage"]["completion_tokens"]
        texts.append(out["choices"][0]["message"]["content"])
    return time.perf_counter() - start, tokens, texts


def stack_round(prompts: list[str], max_tokens: int, cache_dir: Path) -> tuple[float, int, list[str]]:
    lm = make_lm(ModelConfig(model=DEFAULT_MODEL, max_tokens=max_tokens, temperature=0.0), role="benchmark")
    texts = []
    with run_cache(cache_dir):
        start = time.perf_counter()
        for prompt in prompts:
            texts.append(lm(messages=[{"role": "user", "content": prompt}], seed=0)[0])
        elapsed = time.perf_counter() - start
    tokens = sum(entry["usage"]["completion_tokens"] for entry in lm.history)
    return elapsed, tokens, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    logging.getLogger("dspy.clients.lm").setLevel(logging.ERROR)  # truncation at max_tokens is intended here
    prompts = [p.text for p in load_embedded_prompts()[:8]]

    with tempfile.TemporaryDirectory() as tmp:
        raw_round(prompts[:1], 8)  # load the model and warm both paths before timing
        stack_round(prompts[:1], 8, Path(tmp) / "warmup")
        totals = {name: [0.0, 0, 0] for name in (REUSE, FRESH, STACK)}
        same = True
        for i in range(args.rounds):  # alternate paths so drift in machine load hits all alike
            reuse_s, reuse_tokens, _ = raw_round(prompts, args.max_tokens)
            raw_s, raw_tokens, raw_texts = raw_round(prompts, args.max_tokens, fresh=True)
            stack_s, stack_tokens, stack_texts = stack_round(prompts, args.max_tokens, Path(tmp) / f"round{i}")
            same &= raw_texts == stack_texts
            for name, (s, t) in (
                (REUSE, (reuse_s, reuse_tokens)),
                (FRESH, (raw_s, raw_tokens)),
                (STACK, (stack_s, stack_tokens)),
            ):
                totals[name][0] += s
                totals[name][1] += t
                totals[name][2] += len(prompts)

    table = Table(
        title=f"LM overhead: {DEFAULT_MODEL}, {len(prompts)} prompts x {args.rounds} rounds, "
        f"max_tokens={args.max_tokens}"
    )
    table.add_column("path", no_wrap=True)
    for column in ("calls", "completion tokens", "seconds", "tokens/s", "ms/call"):
        table.add_column(column, justify="right")
    rates = {}
    for name, (seconds, tokens, calls) in totals.items():
        rates[name] = tokens / seconds
        table.add_row(
            name, str(calls), str(tokens), f"{seconds:.2f}", f"{rates[name]:.1f}", f"{1000 * seconds / calls:.1f}"
        )
    console = Console(width=130)
    console.print(table)
    _, (raw_s, _, calls), (stack_s, _, _) = totals.values()
    overhead = 1000 * (stack_s - raw_s) / calls
    console.print(
        f"stack / raw (fresh context) tokens/s: {rates[STACK] / rates[FRESH]:.3f}; framework overhead "
        f"{overhead:.1f} ms per call; stack / raw (prefix reuse): {rates[STACK] / rates[REUSE]:.3f}; "
        f"identical outputs: {same}"
    )


if __name__ == "__main__":
    main()
