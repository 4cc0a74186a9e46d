"""The mutable state of one loaded profile, owned in one place.

A loaded pipeline carries state that changes while it serves: which LoRA adapters are in
the UNet, whether the UNet runs compiled and fused, which reference galleries were
rendered. Every change goes through a `Runtime` method; no other module touches these
attributes. `fairsplit.profiles.load_profile` builds the one `Runtime` of each loaded
profile (with its `Accelerator`); every Renderer of that profile shares it.

LoRA and compilation: fused attention would bypass the adapters' `to_q/to_k/to_v`
layers, so renders with adapters run on the plain eager UNet; once a render needs no
adapter again, the adapters are unloaded and the UNet is fused and compiled again (the
compiled graphs are kept, so nothing is recompiled unless the graph guards say so). A
LoRA event no longer turns the shared pipeline eager for good.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from fairsplit.accelerate import Accelerator
from fairsplit.adapter import ImageAdapter
from fairsplit.request import Params

MAX_REFERENCE_PARAMS = 8  # parameter sets whose references are kept (events choose their parameters)


@dataclass
class Runtime:
    """Adapters, acceleration and caches of one loaded pipeline."""

    accelerator: Accelerator
    adapters: dict[str, str] = field(default_factory=dict)  # LoRA adapters in the UNet: name -> path
    references: OrderedDict = field(default_factory=OrderedDict, repr=False)  # params -> reference galleries
    image: ImageAdapter = field(default_factory=lambda: ImageAdapter(None))  # image mixing's IP-Adapter

    def use_adapters(self, pipe, adapters: tuple[tuple[str, str], ...], works: bool = False) -> None:
        """Make exactly these LoRA adapters active, and the IP-Adapter loaded if the renders
        mix works (neither: the base model, accelerated again)."""
        self.image.use(pipe, self.accelerator, works)
        loaded = self.adapters
        if not adapters:
            if loaded:
                pipe.unload_lora_weights()
                loaded.clear()
            if not works:
                self.accelerator.restore()
            return
        self.accelerator.to_eager()
        for name, path in adapters:
            if loaded.get(name) != path:
                if name in loaded:
                    pipe.delete_adapters(name)
                pipe.load_lora_weights(path, adapter_name=name)
                loaded[name] = path
        pipe.enable_lora()
        pipe.set_adapters([name for name, _ in adapters])

    def reference_galleries(self, params: Params, make: Callable[[Params], list]) -> list:
        """The reference galleries at `params`, made by `make` the first time; the most
        recently used `MAX_REFERENCE_PARAMS` parameter sets are kept."""
        if params in self.references:
            self.references.move_to_end(params)
        else:
            self.references[params] = make(params)
            while len(self.references) > MAX_REFERENCE_PARAMS:
                self.references.popitem(last=False)
        return self.references[params]
