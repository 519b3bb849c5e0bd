"""Stand-in for the `transformers` package (vsdlab's own code, not a copy), for tools/sd/check_diffusers_load.py only.

transformers is not installed on the machines the check runs on. diffusers v0.27.2 imports a few of its names at
module level (pipeline_stable_diffusion.py, loaders/, pipeline_loading_utils.py) before it can build a
StableDiffusionPipeline at all. This module supplies those names as empty placeholder classes so that
`DiffusionPipeline.from_pretrained(folder, text_encoder=None, tokenizer=None, ...)` runs diffusers' real loading
of model_index.json and of the diffusers components (unet, vae, scheduler). Nothing of transformers is computed:
any use of a placeholder (instantiating it, from_pretrained) raises, so a check cannot pass by accident.
"""
__version__ = "0.0.0+vsdlab.stub"


class _Placeholder:
    def __init__(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__}: transformers is a stand-in here (tools/sd/pystub-transformers)")

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise RuntimeError(f"{cls.__name__}.from_pretrained: transformers is a stand-in here (tools/sd/pystub-transformers)")


class PreTrainedModel(_Placeholder):
    pass


class PreTrainedTokenizer(_Placeholder):
    pass


def __getattr__(name):
    # CLIPTextModel, CLIPTokenizer, CLIPImageProcessor, ...: a distinct placeholder class per name
    if name.startswith("_"):
        raise AttributeError(name)
    cls = type(name, (_Placeholder,), {})
    globals()[name] = cls
    return cls
