"""Image mixing on the test world: are mixed works recognised and paid, and only they?

The world's truth is known, and its IP-Adapter (`fairsplit.world.train_adapter`) was
trained on the known artists' styles and random ones — never on the unknown artists
(glacier, heron, iris). Every case is held out: works drawn with seeds no training or
calibration used (5000+), registered galleries as `fairsplit world gallery` writes them,
the world's τ and values (floor). Figures, each next to its goal:

- two known artists mixed (one work each, weight 1): both recognised and both paid
  (goal ≥ 95 % of cases), beside the same two artists named in the prompt (the styles path)
  and the world's own drawings of the same pairs through the same test (the ceiling: what
  a generator that drew the truth would reach);
- a work of an unknown artist — a name the text encoder never saw — mixed alone:
  recognised from its image (and, for contrast, the same artist *named* in the prompt);
- a plain, unstyled image mixed under an artist's id (their registered gallery): not
  recognised, so not paid (goal ≥ 95 % not paid), beside the uplift test alone (without
  the work check, `fairsplit.recognition.work_margin`);
- another known artist's work mixed under an artist's id: not paid, beside the same;
- the mean share of the mixed artists and of the model, per figure.

    python bench/fidelity_mixing.py [--per-figure 40] [--seed 1] [--quick] [--no-record] [--model-dir DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import RESULTS, record  # noqa: E402

WORK_SEED = 5000  # works mixed in the cases: seeds no training, gallery or calibration used
TRUTH_SEED = 7000  # the world's own drawings of the pairs (the two-known figure's ceiling)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-figure", type=int, default=40, help="cases per figure")
    parser.add_argument("--seed", type=int, default=1, help="seed of the cases")
    parser.add_argument("--quick", action="store_true", help="a few cases per figure (smoke run)")
    parser.add_argument("--no-record", action="store_true", help=f"do not append to {RESULTS.name}")
    parser.add_argument("--threads", type=int, default=2, choices=range(1, 65), metavar="N",
                        help="torch threads (default 2: the machine's cores)")
    parser.add_argument("--model-dir", type=Path, default=None, help="the world's folder (default: the committed one)")
    args = parser.parse_args()
    n = 3 if args.quick else args.per_figure

    import torch

    from fairsplit.profiles import load_profile
    from fairsplit.recognition import default_tau
    from fairsplit.render import Renderer
    from fairsplit.sources import ModelSources
    from fairsplit.world.cases import world_galleries

    torch.set_num_threads(args.threads)
    started = time.monotonic()
    models = load_profile("world", ModelSources(device="cpu", world_model=args.model_dir))
    renderer = Renderer(models)
    bench = MixingBench(models, renderer, world_galleries(models), np.random.default_rng(args.seed))
    lines, shown = [], []
    for name, goal, figure in (
        (f"two known artists mixed: both recognised and paid, n={n}", "≥ 95 %", bench.two_known),
        (f"unknown artist's work recognised from its image, n={n}", "recognised", bench.unknown_work),
        (f"plain image under an artist's id not paid, n={n}", "≥ 95 %", bench.plain_image),
        (f"another artist's work under an id not paid, n={n}", "not paid", bench.other_artists_work),
    ):
        text = figure(n)
        lines.append(f"{name:<58} {text}   (goal: {goal})")
        shown.append(f"{name}: {text} (goal {goal})")
    title = (f"image mixing on the test world {models.world}, τ={default_tau('world'):g}, seed {args.seed}, "
             f"{time.monotonic() - started:.0f} s ({renderer.rendered} renders)")
    print(title)
    print("\n".join(lines))
    if not args.no_record:
        record(title, " | ".join(shown).replace("|", "/"))


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def percent(hits: int, n: int) -> str:
    return f"{100 * hits / n:.1f} % ({hits}/{n})"


class MixingBench:
    def __init__(self, models, renderer, galleries, rng):
        self.models, self.renderer, self.galleries, self.rng = models, renderer, galleries, rng

    def _pick(self, names, k=1):
        return [str(x) for x in self.rng.choice(list(names), k, replace=False)]

    def _content(self) -> str:
        from fairsplit import world

        return world.CONTENTS[int(self.rng.integers(len(world.CONTENTS)))]

    def _work(self, artist: str) -> bytes:
        from fairsplit import world

        return _png(world.works(artist, 1, WORK_SEED + int(self.rng.integers(10**6)))[0])

    def _request(self, content: str, mixes: list[tuple[str, bytes]], phrases=()):
        from fairsplit import world
        from fairsplit.mixing import make_work
        from fairsplit.request import AttributionRequest, Style

        styles = [Style(a, work=make_work(a, png)) for a, png in mixes]
        styles += [Style(a, world.phrase(a)) for a in phrases]
        return AttributionRequest("world-sd", world.content_prompt(content), tuple(styles),
                                  int(self.rng.integers(2**31)))

    def _run(self, requests):
        from fairsplit.attribute import attribute_many

        return attribute_many(requests, self.models, self.galleries, renderer=self.renderer)

    def _shares(self, results, artists_of) -> str:
        artists = [r.shares[f"artist:{a}"] for r, names in zip(results, artists_of) for a in names]
        model = [r.shares[f"model:{r.model_id}"] for r in results]
        return f"mean artist share {np.mean(artists):.2f}, model {np.mean(model):.2f}"

    def two_known(self, n: int) -> str:
        """Beside it, the reference: the same two artists *named* in the prompt (the styles path)."""
        from fairsplit import world

        pairs = [self._pick(world.KNOWN, 2) for _ in range(n)]
        contents = [self._content() for _ in range(n)]
        results = self._run([self._request(c, [(a, self._work(a)) for a in pair]) for c, pair in zip(contents, pairs)])
        named = self._run([self._request(c, [], pair) for c, pair in zip(contents, pairs)])

        def both(runs) -> int:
            return sum(all(p.recognised and r.shares[p.account] > 0 for p in r.players[1:]) for r in runs)
        one = sum(sum(p.recognised for p in r.players[1:]) >= 1 for r in results)
        return (f"{percent(both(results), n)}; at least one: {percent(one, n)}; {self._shares(results, pairs)} "
                f"(named in the prompt instead: both {percent(both(named), n)}; "
                f"{self._truth(contents, pairs)})")

    def _truth(self, contents, pairs) -> str:
        """The ceiling: the world's own drawing of each pair (no generator, no adapter) through
        the same uplift test; seeded apart from the cases (the bench's draws are unchanged)."""
        from fairsplit.recognition import default_tau
        from fairsplit.world.cases import truth_uplifts

        tau = default_tau("world")
        hits = sum(min(truth_uplifts(self.models, self.galleries, c, pair, TRUTH_SEED + k).values()) >= tau
                   for k, (c, pair) in enumerate(zip(contents, pairs)))
        return f"the world's own drawings of the same pairs, no generator: both recognised {percent(hits, len(pairs))}"

    def unknown_work(self, n: int) -> str:
        from fairsplit import world

        names = [self._pick(world.UNKNOWN)[0] for _ in range(n)]
        contents = [self._content() for _ in range(n)]
        mixed = self._run([self._request(c, [(a, self._work(a))]) for c, a in zip(contents, names)])
        named = self._run([self._request(c, [], [a]) for c, a in zip(contents, names)])
        hits = sum(r.players[1].recognised and r.shares[r.players[1].account] > 0 for r in mixed)
        text = sum(r.players[1].recognised for r in named)
        return (f"{percent(hits, n)} recognised and paid (named in the prompt instead: {percent(text, n)}); "
                f"{self._shares(mixed, [[a] for a in names])}")

    def _not_paid(self, results) -> str:
        """Not paid, beside the reference: the uplift test alone (without the work check)."""
        from fairsplit.recognition import default_tau

        unpaid = sum(r.shares[r.players[1].account] == 0 for r in results)
        uplift_alone = sum(r.players[1].uplift < default_tau("world") for r in results)
        uplifts = [r.players[1].uplift for r in results]
        return (f"{percent(unpaid, len(results))} not paid (by the uplift test alone, without the work check: "
                f"{percent(uplift_alone, len(results))}; largest uplift {max(uplifts):+.3f})")

    def plain_image(self, n: int) -> str:
        from fairsplit import world

        names = [self._pick(world.ARTISTS)[0] for _ in range(n)]
        plain = [_png(world.draw(self._content(), world.PLAIN, int(self.rng.integers(2**31)))) for _ in range(n)]
        return self._not_paid(self._run([self._request(self._content(), [(a, png)]) for a, png in zip(names, plain)]))

    def other_artists_work(self, n: int) -> str:
        """A known artist's id with another known artist's work: the work is not theirs."""
        from fairsplit import world

        pairs = [self._pick(world.KNOWN, 2) for _ in range(n)]
        return self._not_paid(self._run([self._request(self._content(), [(a, self._work(b))]) for a, b in pairs]))


if __name__ == "__main__":
    main()
